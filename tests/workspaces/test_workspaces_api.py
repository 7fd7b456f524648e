"""Workspaces and their members through the HTTP API: roles, the last owner, limits, validation."""

from __future__ import annotations

from tests.workspaces.conftest import Env, assert_not_found


async def test_create_list_get_rename_delete(env: Env) -> None:
    alice = await env.user("alice")
    created = await env.call(alice, "POST", "/api/workspaces", json={"name": "  Café  "}, expect=201)
    body = created.json()
    assert set(body) == {"id", "name", "role", "created_at", "updated_at"}
    assert body["name"] == "Café" and body["role"] == "owner"
    workspace_id = body["id"]
    assert created.headers["cache-control"] == "no-store"

    listed = (await env.call(alice, "GET", "/api/workspaces", expect=200)).json()["workspaces"]
    assert [(w["id"], w["role"], w["member_count"]) for w in listed] == [(workspace_id, "owner", 1)]

    got = (await env.call(alice, "GET", f"/api/workspaces/{workspace_id}", expect=200)).json()
    assert got["name"] == "Café"

    renamed = await env.call(alice, "PATCH", f"/api/workspaces/{workspace_id}", json={"name": "Renamed"}, expect=200)
    assert renamed.json()["name"] == "Renamed"

    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}", expect=204)
    assert_not_found(await env.call(alice, "GET", f"/api/workspaces/{workspace_id}"))
    assert (await env.call(alice, "GET", "/api/workspaces", expect=200)).json()["workspaces"] == []


async def test_authentication_is_required(env: Env) -> None:
    alice = await env.user("alice")
    workspace_id = await env.workspace(alice)
    for method, url in [
        ("GET", "/api/workspaces"),
        ("POST", "/api/workspaces"),
        ("GET", f"/api/workspaces/{workspace_id}"),
        ("GET", f"/api/workspaces/{workspace_id}/tree"),
        ("GET", f"/api/workspaces/{workspace_id}/export"),
    ]:
        response = await env.call(None, method, url, expect=401)
        assert response.json()["error"]["code"] == "unauthorized"
    bad = await env.call(None, "GET", "/api/workspaces", headers={"authorization": "Bearer nonsense"}, expect=401)
    assert bad.json()["error"]["code"] == "unauthorized"


BAD_NAMES: list[object] = [
    {},
    {"name": ""},
    {"name": "   "},
    {"name": "x" * 101},
    {"name": "bad\x00name"},
    {"name": "bidi\u202ename"},
    {"name": "line\nbreak"},
    {"name": 42},
    {"name": "ok", "extra": 1},
    {"name": None},
    [],
]


async def test_workspace_name_validation(env: Env) -> None:
    alice = await env.user("alice")
    workspace_id = await env.workspace(alice, "Valid")
    for body in BAD_NAMES:
        for method, url in [("POST", "/api/workspaces"), ("PATCH", f"/api/workspaces/{workspace_id}")]:
            response = await env.call(alice, method, url, json=body, expect=422)
            assert response.json()["error"]["code"] == "validation_failed", body
    assert [w["name"] for w in (await env.call(alice, "GET", "/api/workspaces", expect=200)).json()["workspaces"]] == [
        "Valid"
    ]


async def test_malformed_bodies(env: Env) -> None:
    alice = await env.user("alice")
    await env.call(
        alice, "POST", "/api/workspaces", content=b"{not json", headers={"content-type": "application/json"}, expect=400
    )
    await env.call(
        alice, "POST", "/api/workspaces", content=b"name=x", headers={"content-type": "text/plain"}, expect=415
    )
    big = {"name": "x" * (2 * 1024 * 1024)}
    await env.call(alice, "POST", "/api/workspaces", json=big, expect=413)


async def test_members_lifecycle(env: Env) -> None:
    alice, bob, carol = await env.user("alice"), await env.user("bob"), await env.user("carol")
    workspace_id = await env.workspace(alice)
    members_url = f"/api/workspaces/{workspace_id}/members"

    added = await env.call(alice, "POST", members_url, json={"username": " BOB ", "role": "editor"}, expect=201)
    assert added.json() == {
        "user_id": bob.id,
        "username": "bob",
        "display_name": "Bob",
        "avatar_color": added.json()["avatar_color"],
        "role": "editor",
        "added_at": added.json()["added_at"],
    }
    await env.add(alice, workspace_id, carol, "viewer")
    members = (await env.call(bob, "GET", members_url, expect=200)).json()["members"]
    assert {m["username"]: m["role"] for m in members} == {"alice": "owner", "bob": "editor", "carol": "viewer"}

    # Visible to the new members, with their roles.
    listed = (await env.call(carol, "GET", "/api/workspaces", expect=200)).json()["workspaces"]
    assert [(w["id"], w["role"], w["member_count"]) for w in listed] == [(workspace_id, "viewer", 3)]

    dup = await env.call(alice, "POST", members_url, json={"username": "bob", "role": "viewer"}, expect=409)
    assert dup.json()["error"]["code"] == "already_member"

    changed = await env.call(alice, "PATCH", f"{members_url}/{carol.id}", json={"role": "editor"}, expect=200)
    assert changed.json()["role"] == "editor"

    await env.call(alice, "DELETE", f"{members_url}/{carol.id}", expect=204)
    assert_not_found(await env.call(carol, "GET", f"/api/workspaces/{workspace_id}"))
    assert_not_found(await env.call(alice, "PATCH", f"{members_url}/{carol.id}", json={"role": "viewer"}))
    assert_not_found(await env.call(alice, "DELETE", f"{members_url}/{carol.id}"))


async def test_unknown_or_disabled_user_cannot_be_added(env: Env) -> None:
    alice, mallory = await env.user("alice"), await env.user("mallory")
    workspace_id = await env.workspace(alice)
    url = f"/api/workspaces/{workspace_id}/members"
    missing = await env.call(alice, "POST", url, json={"username": "nobody", "role": "editor"}, expect=404)
    assert missing.json()["error"]["code"] == "user_not_found"
    from collabcode.auth.service import auth_service

    await auth_service(env.services).update_user(mallory.id, disabled=True)
    disabled = await env.call(alice, "POST", url, json={"username": "mallory", "role": "editor"}, expect=404)
    assert disabled.json()["error"]["code"] == "user_not_found"
    for body in [
        {"username": "x", "role": "editor"},
        {"username": "bob\x00", "role": "editor"},
        {"username": "bob", "role": "admin"},
        {"username": "bob", "role": "OWNER"},
        {"username": "bob"},
        {"username": "bob", "role": "editor", "user_id": "1"},
    ]:
        await env.call(alice, "POST", url, json=body, expect=422)


async def test_the_last_owner_stays(env: Env) -> None:
    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    url = f"/api/workspaces/{workspace_id}/members"
    demote = await env.call(alice, "PATCH", f"{url}/{alice.id}", json={"role": "editor"}, expect=409)
    assert demote.json()["error"]["code"] == "last_owner"
    leave = await env.call(alice, "DELETE", f"{url}/{alice.id}", expect=409)
    assert leave.json()["error"]["code"] == "last_owner"

    # With a second owner, either may step down, but not both.
    await env.add(alice, workspace_id, bob, "owner")
    await env.call(bob, "PATCH", f"{url}/{alice.id}", json={"role": "viewer"}, expect=200)
    await env.call(bob, "PATCH", f"{url}/{bob.id}", json={"role": "editor"}, expect=409)
    await env.call(bob, "DELETE", f"{url}/{bob.id}", expect=409)
    # Alice is a viewer now: she cannot manage members any more.
    await env.call(alice, "PATCH", f"{url}/{alice.id}", json={"role": "owner"}, expect=403)


async def test_members_can_leave_but_not_remove_others(env: Env) -> None:
    alice, bob, carol = await env.user("alice"), await env.user("bob"), await env.user("carol")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    await env.add(alice, workspace_id, carol, "viewer")
    url = f"/api/workspaces/{workspace_id}/members"
    await env.call(bob, "DELETE", f"{url}/{carol.id}", expect=403)
    await env.call(carol, "DELETE", f"{url}/{bob.id}", expect=403)
    await env.call(carol, "DELETE", f"{url}/{carol.id}", expect=204)
    assert_not_found(await env.call(carol, "GET", f"/api/workspaces/{workspace_id}"))


async def test_role_change_takes_effect_immediately(env: Env) -> None:
    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    await env.create(bob, workspace_id, "by-bob.txt", content="hi")
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/members/{bob.id}", json={"role": "viewer"}, expect=200
    )
    denied = await env.call(
        bob, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": "b.txt", "kind": "file"}, expect=403
    )
    assert denied.json()["error"]["code"] == "forbidden"
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/members/{bob.id}", json={"role": "owner"}, expect=200
    )
    await env.call(bob, "PATCH", f"/api/workspaces/{workspace_id}", json={"name": "Bob's now"}, expect=200)
    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/members/{bob.id}", expect=204)
    assert_not_found(await env.call(bob, "GET", f"/api/workspaces/{workspace_id}/tree"))


async def test_only_owners_rename_and_delete(env: Env) -> None:
    alice, bob, carol = await env.user("alice"), await env.user("bob"), await env.user("carol")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    await env.add(alice, workspace_id, carol, "viewer")
    for user in (bob, carol):
        await env.call(user, "PATCH", f"/api/workspaces/{workspace_id}", json={"name": "Mine"}, expect=403)
        await env.call(user, "DELETE", f"/api/workspaces/{workspace_id}", expect=403)
        await env.call(
            user,
            "POST",
            f"/api/workspaces/{workspace_id}/members",
            json={"username": "alice", "role": "viewer"},
            expect=403,
        )
        await env.call(
            user, "PATCH", f"/api/workspaces/{workspace_id}/members/{alice.id}", json={"role": "viewer"}, expect=403
        )
        await env.call(user, "DELETE", f"/api/workspaces/{workspace_id}/members/{alice.id}", expect=403)
    assert (await env.call(alice, "GET", f"/api/workspaces/{workspace_id}", expect=200)).json()["name"] == "Project"


async def test_membership_limit(env: Env) -> None:
    from dataclasses import replace

    alice = await env.user("alice")
    env.service.limits = replace(env.service.limits, max_workspaces_per_user=2)
    await env.workspace(alice, "one")
    await env.workspace(alice, "two")
    refused = await env.call(alice, "POST", "/api/workspaces", json={"name": "three"}, expect=409)
    assert refused.json()["error"]["code"] == "limit_reached"


async def test_concurrent_changes_keep_the_rules(env: Env) -> None:
    import asyncio

    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "owner")
    url = f"/api/workspaces/{workspace_id}/members"
    # Two owners demote each other at the same moment: one of them stays an owner.
    first, second = await asyncio.gather(
        env.call(alice, "PATCH", f"{url}/{bob.id}", json={"role": "viewer"}),
        env.call(bob, "PATCH", f"{url}/{alice.id}", json={"role": "viewer"}),
    )
    assert sorted([first.status_code, second.status_code])[0] == 200
    assert sorted([first.status_code, second.status_code])[1] in {403, 409}
    members = (await env.call(alice, "GET", url, expect=200)).json()["members"]
    assert [m["role"] for m in members].count("owner") == 1

    # The same path created many times at once: exactly one wins.
    owner = alice if first.status_code == 200 else bob
    results = await asyncio.gather(
        *(
            env.call(
                owner,
                "POST",
                f"/api/workspaces/{workspace_id}/files",
                json={"path": "dir/same.txt", "kind": "file", "content": f"{i}"},
            )
            for i in range(8)
        )
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 7
    assert await env.paths(owner, workspace_id) == ["dir", "dir/same.txt"]

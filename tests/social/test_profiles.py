"""Profiles: what one person may learn about another, and editing one's own (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from collabcode.auth.service import auth_service
from collabcode.auth.validation import InputRejected, normalize_username
from tests.chat.harness import ChatEnv
from tests.social.conftest import online, profile, workspace


async def test_profile_shape_and_shared_workspaces_only(env: ChatEnv) -> None:
    alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
    both = await workspace(env, alice, "Both", [(bob, "viewer")])
    await workspace(env, alice, "Alice and Carol", [(carol, "editor")])
    await workspace(env, bob, "Bob only")

    seen = await profile(env, alice, "bob")
    assert seen["id"] == bob.id and seen["username"] == "bob" and seen["display_name"] == "Bob"
    assert seen["bio"] == "" and seen["avatar_url"] is None and seen["joined_at"].endswith("Z")
    assert seen["shared_workspaces"] == [{"id": both, "name": "Both"}]
    assert seen["followers_count"] == 0 and seen["following_count"] == 0
    assert seen["followed_by_me"] is False and seen["follows_me"] is False and seen["blocked"] is False
    assert set(seen) == {
        "id", "username", "display_name", "avatar_color", "avatar_url", "bio", "joined_at", "presence",
        "followers_count", "following_count", "followed_by_me", "follows_me", "blocked", "shared_workspaces",
    }  # fmt: skip
    # Carol shares nothing with Bob: no workspace of Alice's leaks through Bob's profile.
    assert (await profile(env, carol, "bob"))["shared_workspaces"] == []
    # Upper case in the path finds the same person.
    assert (await profile(env, alice, "BOB"))["id"] == bob.id


async def test_unknown_disabled_and_blocking_people_do_not_exist(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    missing = await env.call(alice, "GET", "/api/users/nobody", expect=404)
    await env.call(bob, "POST", "/api/users/alice/block", expect=204)
    blocked = await env.call(alice, "GET", "/api/users/bob", expect=404)
    assert blocked.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    # The blocker still sees the person they blocked, marked as blocked, without presence.
    await online(env, alice)
    seen = await profile(env, bob, "alice")
    assert seen["blocked"] is True and seen["presence"] is None

    carol = await env.person("carol")
    await auth_service(env.services).update_user(carol.id, disabled=True)
    await env.call(alice, "GET", "/api/users/carol", expect=404)
    await env.call(None, "GET", "/api/users/bob", expect=401)
    await env.call(alice, "GET", "/api/users/bad%20name", expect=404)


async def test_presence_only_for_people_with_a_relationship(env: ChatEnv) -> None:
    alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
    await online(env, bob)
    # No conversation, workspace or follow between Alice and Bob: no presence.
    assert (await profile(env, alice, "bob"))["presence"] is None
    # Sharing a workspace shows it.
    await workspace(env, alice, "Team", [(bob, "viewer")])
    assert (await profile(env, alice, "bob"))["presence"] == {"status": "online", "last_seen_at": None}
    assert (await profile(env, carol, "bob"))["presence"] is None
    # Following shows it too, in that direction only.
    await env.call(carol, "POST", "/api/users/bob/follow", expect=200)
    assert (await profile(env, carol, "bob"))["presence"]["status"] == "online"
    await online(env, carol)
    assert (await profile(env, bob, "carol"))["presence"] is None
    # An invisible person looks offline, with no last-seen time, to everyone.
    await env.call(bob, "PATCH", "/api/me/privacy", json={"invisible": True}, expect=200)
    assert (await profile(env, alice, "bob"))["presence"] == {"status": "offline", "last_seen_at": None}
    assert (await profile(env, carol, "bob"))["presence"] == {"status": "offline", "last_seen_at": None}


async def test_block_hides_presence_of_followed_and_co_members(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await workspace(env, alice, "Team", [(bob, "editor")])
    await env.call(alice, "POST", "/api/users/bob/follow", expect=200)
    await online(env, bob)
    assert (await profile(env, alice, "bob"))["presence"]["status"] == "online"
    await env.call(alice, "POST", "/api/users/bob/block", expect=204)
    assert (await profile(env, alice, "bob"))["presence"] is None
    assert alice.id not in await env.hub.presence.presence_audience(bob.id)
    assert bob.id not in await env.hub.presence.visible_to(alice.id)


async def test_edit_own_profile(env: ChatEnv) -> None:
    alice = await env.person("alice")
    response = await env.call(
        alice, "PATCH", "/api/me/profile", json={"display_name": "  Alice L.  ", "bio": "Rust and\nPython"}, expect=200
    )
    assert response.json()["display_name"] == "Alice L." and response.json()["bio"] == "Rust and\nPython"
    assert (await profile(env, alice, "alice"))["display_name"] == "Alice L."
    for body, rule in (
        ({"display_name": ""}, None),
        ({"display_name": "x\u202ey"}, "bidi_or_invisible_character"),
        ({"bio": "b" * 501}, "too_long"),
        ({"username": "mallory"}, None),
        ({"role": "admin"}, None),
        ({"display_name": None}, "null"),
    ):
        rejected = await env.call(alice, "PATCH", "/api/me/profile", json=body, expect=422)
        if rule is not None:
            assert rejected.json()["error"]["details"]["rule"] == rule
    assert (await profile(env, alice, "alice"))["display_name"] == "Alice L."


async def test_search_is_a_reserved_username_and_search_still_works(env: ChatEnv) -> None:
    with pytest.raises(InputRejected) as caught:
        normalize_username("Search")
    assert caught.value.rule == "reserved_username"
    alice, _ = await env.person("alice"), await env.person("bobby")
    found = await env.call(alice, "GET", "/api/users/search", params={"q": "bob"}, expect=200)
    assert [u["username"] for u in found.json()["users"]] == ["bobby"]

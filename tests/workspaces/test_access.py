"""Every route against every access rule: invisible is 404 (one body), visible-but-forbidden is 403."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.workspaces.conftest import Env, User, assert_not_found, zip_bytes


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str
    needs: str  # the least role that may use it
    body: str | None = None  # "json:<kind>", "text", "zip"

    def url(self, workspace_id: str, file_id: str, user_id: str) -> str:
        tail = self.path.format(f=file_id, u=user_id)
        return f"/api/workspaces/{workspace_id}{tail}"

    def kwargs(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if self.body == "text":
            return {"content": b"changed", "headers": {"content-type": "text/plain"}}
        if self.body == "zip":
            return {"content": zip_bytes({"imported.txt": b"x"}), "headers": {"content-type": "application/zip"}}
        return {"json": JSON_BODIES[self.body]}


JSON_BODIES: dict[str, Any] = {
    "rename": {"name": "Taken over"},
    "add_member": {"username": "erin", "role": "owner"},
    "role": {"role": "viewer"},
    "create": {"path": "new.txt", "kind": "file", "content": "x"},
    "move": {"path": "moved.txt"},
}

ROUTES = [
    RouteCase("GET", "", "viewer"),
    RouteCase("PATCH", "", "owner", "rename"),
    RouteCase("GET", "/members", "viewer"),
    RouteCase("POST", "/members", "owner", "add_member"),
    RouteCase("PATCH", "/members/{u}", "owner", "role"),
    RouteCase("DELETE", "/members/{u}", "owner"),
    RouteCase("GET", "/tree", "viewer"),
    RouteCase("POST", "/files", "editor", "create"),
    RouteCase("PATCH", "/files/{f}", "editor", "move"),
    RouteCase("GET", "/files/{f}/content", "viewer"),
    RouteCase("PUT", "/files/{f}/content", "editor", "text"),
    RouteCase("POST", "/import", "editor", "zip"),
    RouteCase("GET", "/export", "viewer"),
    RouteCase("DELETE", "/files/{f}", "editor"),
    RouteCase("DELETE", "", "owner"),
]
RANK = {"viewer": 0, "editor": 1, "owner": 2}


@dataclass
class World:
    alice: User  # owner of A
    bob: User  # editor of A
    carol: User  # viewer of A
    dave: User  # owner of D, nothing in A
    a: str
    a_file: str
    d: str
    d_file: str


@pytest.fixture
async def world(env: Env) -> World:
    alice, bob, carol, dave = [await env.user(n) for n in ("alice", "bob", "carol", "dave")]
    await env.user("erin")
    a = await env.workspace(alice, "A")
    await env.add(alice, a, bob, "editor")
    await env.add(alice, a, carol, "viewer")
    a_file = (await env.create(alice, a, "dir/secret.txt", content="A's secret"))["id"]
    d = await env.workspace(dave, "D")
    d_file = (await env.create(dave, d, "mine.txt", content="D's"))["id"]
    return World(alice, bob, carol, dave, a, a_file, d, d_file)


async def snapshot(env: Env, world: World) -> object:
    tree = await env.tree(world.alice, world.a)
    members = (await env.call(world.alice, "GET", f"/api/workspaces/{world.a}/members", expect=200)).json()
    workspace = (await env.call(world.alice, "GET", f"/api/workspaces/{world.a}", expect=200)).json()
    content = await env.content(world.alice, world.a, world.a_file)
    return tree, members, workspace["name"], content


async def test_non_members_get_404_on_everything(env: Env, world: World) -> None:
    before = await snapshot(env, world)
    for route in ROUTES:
        response = await env.call(
            world.dave, route.method, route.url(world.a, world.a_file, world.alice.id), **route.kwargs()
        )
        assert_not_found(response, route)
        missing = await env.call(
            world.dave, route.method, route.url(uuid.uuid4().hex, world.a_file, world.alice.id), **route.kwargs()
        )
        assert_not_found(missing, route)
    assert await snapshot(env, world) == before


async def test_a_file_addressed_under_another_workspace_is_404(env: Env, world: World) -> None:
    before = await snapshot(env, world)
    for route in [r for r in ROUTES if "{f}" in r.path]:
        # Dave owns D and may do anything there, but A's file is not D's.
        assert_not_found(
            await env.call(world.dave, route.method, route.url(world.d, world.a_file, world.dave.id), **route.kwargs()),
            route,
        )
        # Alice owns A and is no member of D: D's file under A is just as invisible.
        assert_not_found(
            await env.call(
                world.alice, route.method, route.url(world.a, world.d_file, world.alice.id), **route.kwargs()
            ),
            route,
        )
        # An id that never existed looks the same.
        assert_not_found(
            await env.call(
                world.alice, route.method, route.url(world.a, uuid.uuid4().hex, world.alice.id), **route.kwargs()
            ),
            route,
        )
    assert await snapshot(env, world) == before
    assert await env.content(world.dave, world.d, world.d_file) == "D's"


async def test_a_member_of_another_workspace_is_404(env: Env, world: World) -> None:
    for route in [r for r in ROUTES if "{u}" in r.path]:
        assert_not_found(
            await env.call(world.dave, route.method, route.url(world.d, "", world.carol.id), **route.kwargs()), route
        )
        assert_not_found(
            await env.call(world.dave, route.method, route.url(world.d, "", uuid.uuid4().hex), **route.kwargs()), route
        )


BAD_IDS = ["not-an-id", "%2e%2e", "..%2F..%2Fetc", "' OR '1'='1", "A" * 32, "0" * 31, "0" * 33, "x" * 5000, "%00"]


async def test_malformed_ids_are_404(env: Env, world: World) -> None:
    for bad_id in BAD_IDS:
        for route in ROUTES:
            assert_not_found(
                await env.call(
                    world.alice, route.method, route.url(bad_id, world.a_file, world.bob.id), **route.kwargs()
                ),
                route,
            )
            if "{f}" in route.path:
                assert_not_found(
                    await env.call(
                        world.alice, route.method, route.url(world.a, bad_id, world.bob.id), **route.kwargs()
                    ),
                    route,
                )
            if "{u}" in route.path:
                assert_not_found(
                    await env.call(
                        world.alice, route.method, route.url(world.a, world.a_file, bad_id), **route.kwargs()
                    ),
                    route,
                )


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_members_get_403_above_their_role(env: Env, world: World, role: str) -> None:
    user = world.carol if role == "viewer" else world.bob
    for route in ROUTES:
        if RANK[route.needs] <= RANK[role]:
            continue
        before = await snapshot(env, world)
        response = await env.call(
            user, route.method, route.url(world.a, world.a_file, world.alice.id), **route.kwargs()
        )
        assert response.status_code == 403, f"{route}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"
        assert await snapshot(env, world) == before


async def test_viewers_read_everything_they_may(env: Env, world: World) -> None:
    for route in ROUTES:
        if route.needs != "viewer":
            continue
        response = await env.call(
            world.carol, route.method, route.url(world.a, world.a_file, world.alice.id), **route.kwargs()
        )
        assert response.status_code == 200, f"{route}: {response.text}"


async def test_editors_write_but_do_not_manage(env: Env, world: World) -> None:
    for route in ROUTES:
        if route.needs != "editor":
            continue
        response = await env.call(
            world.bob, route.method, route.url(world.a, world.a_file, world.alice.id), **route.kwargs()
        )
        assert response.status_code in {200, 201, 204}, f"{route}: {response.text}"


async def test_owners_may_do_everything(env: Env, world: World) -> None:
    for route in ROUTES:
        user_id = world.carol.id
        response = await env.call(
            world.alice, route.method, route.url(world.a, world.a_file, user_id), **route.kwargs()
        )
        assert response.status_code in {200, 201, 204}, f"{route}: {response.text}"
    assert_not_found(await env.call(world.alice, "GET", f"/api/workspaces/{world.a}"))


HOSTILE_BODIES: list[tuple[bytes, str, int]] = [
    (b"null", "application/json", 422),
    (b"[]", "application/json", 422),
    (b'"text"', "application/json", 422),
    (b'{"path": {"$gt": ""}, "name": ["x"], "role": 1, "username": null, "kind": "file"}', "application/json", 422),
    (b'{"path": "a", "kind": "file", "content": 1e999}', "application/json", 422),
    (b"[" * 100 + b"]" * 100, "application/json", 400),
    (b'{"name": "\xff\xfe"}', "application/json", 400),
    (b"{", "application/json", 400),
    (b"name=x&role=owner", "application/x-www-form-urlencoded", 415),
]


async def test_hostile_bodies_never_change_anything(env: Env, world: World) -> None:
    before = await snapshot(env, world)
    for route in ROUTES:
        if route.body is None or not route.body.startswith(("rename", "add_member", "role", "create", "move")):
            continue
        url = route.url(world.a, world.a_file, world.carol.id)
        for body, content_type, status in HOSTILE_BODIES:
            response = await env.call(
                world.alice, route.method, url, content=body, headers={"content-type": content_type}
            )
            assert response.status_code == status, f"{route} {body[:40]!r}: {response.text}"
    assert await snapshot(env, world) == before

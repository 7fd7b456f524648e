"""The document authorizer: workspace roles decide who may read or write a file's document."""

from __future__ import annotations

import uuid

from collabcode.auth.identity import Identity
from collabcode.workspaces.authorizer import WorkspaceAuthorizer
from tests.workspaces.conftest import Env, User


def identity(user: User) -> Identity:
    return Identity(
        user_id=user.id,
        session_id="s" * 32,
        username=user.username,
        display_name=user.username.title(),
        role="member",
        email_verified=True,
        avatar_color="#2563eb",
    )


async def test_roles_map_to_access(env: Env) -> None:
    alice, bob, carol, dave = [await env.user(n) for n in ("alice", "bob", "carol", "dave")]
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    await env.add(alice, workspace_id, carol, "viewer")
    file_id = (await env.create(alice, workspace_id, "dir/a.txt"))["id"]
    folder_id = next(e["id"] for e in (await env.tree(alice, workspace_id))["entries"] if e["kind"] == "folder")
    authorizer = WorkspaceAuthorizer(env.services.db)

    assert await authorizer.access(identity(alice), workspace_id, file_id) == "write"
    assert await authorizer.access(identity(bob), workspace_id, file_id) == "write"
    assert await authorizer.access(identity(carol), workspace_id, file_id) == "read"
    assert await authorizer.access(identity(dave), workspace_id, file_id) == "none"
    # A folder has no document; made-up and malformed ids get nothing.
    assert await authorizer.access(identity(alice), workspace_id, folder_id) == "none"
    assert await authorizer.access(identity(alice), workspace_id, uuid.uuid4().hex) == "none"
    for bad in ["", "..", "x" * 10_000, file_id.upper(), f"{file_id}' OR '1'='1"]:
        assert await authorizer.access(identity(alice), workspace_id, bad) == "none"
        assert await authorizer.access(identity(alice), bad, file_id) == "none"


async def test_a_file_under_the_wrong_workspace_is_none(env: Env) -> None:
    alice, dave = await env.user("alice"), await env.user("dave")
    a = await env.workspace(alice, "A")
    d = await env.workspace(dave, "D")
    await env.add(dave, d, alice, "owner")
    a_file = (await env.create(alice, a, "a.txt"))["id"]
    authorizer = WorkspaceAuthorizer(env.services.db)
    # Alice may write in both workspaces, but A's file is not D's document.
    assert await authorizer.access(identity(alice), d, a_file) == "none"
    assert await authorizer.access(identity(dave), a, a_file) == "none"
    assert await authorizer.access(identity(dave), d, a_file) == "none"


async def test_changes_apply_on_the_next_check(env: Env) -> None:
    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    file_id = (await env.create(alice, workspace_id, "a.txt"))["id"]
    authorizer = WorkspaceAuthorizer(env.services.db)
    members = f"/api/workspaces/{workspace_id}/members/{bob.id}"

    assert await authorizer.access(identity(bob), workspace_id, file_id) == "write"
    await env.call(alice, "PATCH", members, json={"role": "viewer"}, expect=200)
    assert await authorizer.access(identity(bob), workspace_id, file_id) == "read"
    await env.call(alice, "DELETE", members, expect=204)
    assert await authorizer.access(identity(bob), workspace_id, file_id) == "none"
    await env.add(alice, workspace_id, bob, "editor")
    assert await authorizer.access(identity(bob), workspace_id, file_id) == "write"
    # Moving the file keeps its id and therefore its access; deleting it ends it.
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{file_id}", json={"path": "b/c.txt"}, expect=200
    )
    assert await authorizer.access(identity(bob), workspace_id, file_id) == "write"
    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/files/{file_id}", expect=204)
    assert await authorizer.access(identity(bob), workspace_id, file_id) == "none"
    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}", expect=204)
    assert await authorizer.access(identity(alice), workspace_id, file_id) == "none"

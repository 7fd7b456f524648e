"""The history API through the real app, on SQLite and PostgreSQL, with real accounts.

Versions, diffs, checkpoints and restore over HTTP, and the access rules: members read, writers
change, and everything outside the caller's reach is the one 404.
"""

from __future__ import annotations

from typing import Any

from tests.workspaces.conftest import Env, User, assert_not_found, env, ws_settings, zip_bytes

__all__ = ["env", "ws_settings"]  # fixtures used by the tests below


async def _put(env: Env, user: User, workspace_id: str, file_id: str, text: str) -> None:
    await env.call(
        user,
        "PUT",
        f"/api/workspaces/{workspace_id}/files/{file_id}/content",
        content=text.encode("utf-8"),
        headers={"content-type": "text/plain; charset=utf-8"},
        expect=200,
    )


async def _history(env: Env, user: User, base: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = (await env.call(user, "GET", base + "/history", params=params, expect=200)).json()
    return body


async def test_versions_diff_checkpoints_and_restore(env: Env) -> None:
    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    file_id = (await env.create(alice, workspace_id, "notes.txt", content="one\n"))["id"]
    base = f"/api/workspaces/{workspace_id}/files/{file_id}"
    await _put(env, bob, workspace_id, file_id, "one\ntwo\n")
    await _put(env, alice, workspace_id, file_id, "one\ntwo\nthree\n")

    timeline = await _history(env, alice, base)
    versions = [v["version"] for v in timeline["versions"]]
    assert versions == sorted(versions, reverse=True) and len(versions) == 3
    assert timeline["head"] == versions[0] and timeline["next_before"] is None
    authors = [[a["user"]["username"] for a in v["authors"]] for v in timeline["versions"]]
    assert authors == [["alice"], ["bob"], ["alice"]]
    first, second, third = reversed(versions)

    texts = {}
    for version in versions:
        body = (await env.call(bob, "GET", f"{base}/history/{version}", expect=200)).json()
        texts[version] = body["text"]
    assert texts == {first: "one\n", second: "one\ntwo\n", third: "one\ntwo\nthree\n"}

    diff = (await env.call(bob, "GET", f"{base}/history/diff?from={first}&to={third}", expect=200)).json()
    assert diff["diff"].splitlines() == [
        f"--- version {first}",
        f"+++ version {third}",
        "@@ -1 +1,3 @@",
        " one",
        "+two",
        "+three",
    ]
    current = (await env.call(bob, "GET", f"{base}/history/diff?from={third}", expect=200)).json()
    assert current["diff"] == "" and current["to"] is None

    checkpoint = (await env.call(bob, "POST", base + "/checkpoints", json={"name": "three lines"}, expect=201)).json()
    assert checkpoint["version"] == third and checkpoint["name"] == "three lines"
    await env.call(bob, "POST", base + "/checkpoints", json={"name": "three lines"}, expect=409)
    listed = (await env.call(alice, "GET", base + "/checkpoints", expect=200)).json()["checkpoints"]
    assert [(c["version"], c["name"], c["automatic"]) for c in listed] == [(third, "three lines", False)]
    marked = (await _history(env, alice, base))["versions"][0]["checkpoints"]
    assert [(c["name"], c["automatic"], c["created_by"]["username"]) for c in marked] == [("three lines", False, "bob")]

    restored = (await env.call(alice, "POST", base + "/restore", json={"version": first}, expect=200)).json()
    assert restored["restored"] == first and restored["changed"] is True and restored["version"] > third
    assert await env.content(alice, workspace_id, file_id) == "one\n"
    newest = (await _history(env, bob, base))["versions"][0]
    assert [(a["user"]["username"], a["via"]) for a in newest["authors"]] == [("alice", "restore")]
    # Restoring the text it already has changes nothing.
    again = (await env.call(alice, "POST", base + "/restore", json={"version": first}, expect=200)).json()
    assert again["changed"] is False and again["version"] == restored["version"]
    # History is never rewritten: the old versions are all still there.
    assert (await env.call(bob, "GET", f"{base}/history/{third}", expect=200)).json()["text"] == "one\ntwo\nthree\n"

    # Pages: newest first, then older ones from ``next_before``.
    page = await _history(env, alice, base, limit=2)
    assert [v["version"] for v in page["versions"]] == [restored["version"], third]
    rest = await _history(env, alice, base, limit=2, before=page["next_before"])
    assert [v["version"] for v in rest["versions"]] == [second, first]

    lines = (await env.call(bob, "GET", base + "/authorship", expect=200)).json()["lines"]
    assert [(line["line"], line["user"]["username"]) for line in lines] == [(1, "alice")]

    people = (await env.call(bob, "GET", base + "/contributors", expect=200)).json()["contributors"]
    assert {p["user"]["username"]: p["changes"] for p in people} == {"alice": 3, "bob": 1}
    trailers = await env.call(bob, "GET", f"/api/workspaces/{workspace_id}/contributors?format=trailers", expect=200)
    assert trailers.text == "Co-authored-by: Alice <alice@users.noreply.127.0.0.1>\n"


async def test_bad_input_is_refused(env: Env) -> None:
    alice = await env.user("alice")
    workspace_id = await env.workspace(alice)
    file_id = (await env.create(alice, workspace_id, "a.txt", content="x\n"))["id"]
    base = f"/api/workspaces/{workspace_id}/files/{file_id}"
    for url in (
        base + "/history/abc",
        base + "/history/0",
        base + "/history?limit=0",
        base + "/history?limit=201",
        base + "/history/diff",
        base + "/history/diff?from=-1",
        base + "/history?before=x",
    ):
        response = await env.call(alice, "GET", url, expect=422)
        assert response.json()["error"]["code"] == "validation_failed", url
    assert_not_found(await env.call(alice, "GET", base + "/history/999"))
    assert_not_found(await env.call(alice, "GET", base + "/history/diff?from=999"))
    await env.call(alice, "POST", base + "/restore", json={"version": "1"}, expect=422)
    await env.call(alice, "POST", base + "/restore", json={"version": 1, "extra": True}, expect=422)
    assert_not_found(await env.call(alice, "POST", base + "/restore", json={"version": 999}))
    await env.call(alice, "POST", base + "/checkpoints", json={"name": ""}, expect=422)
    await env.call(alice, "POST", base + "/checkpoints", json={"name": "x" * 101}, expect=422)
    await env.call(alice, "POST", base + "/checkpoints", json={"name": "   "}, expect=422)
    await env.call(alice, "POST", base + "/checkpoints", json={"name": "a\nb"}, expect=422)
    await env.call(alice, "POST", base + "/comments", json={"anchor": {"start": 3, "end": 1}, "body": "b"}, expect=422)
    await env.call(alice, "POST", base + "/comments", json={"anchor": {"start": 0, "end": 99}, "body": "b"}, expect=422)
    await env.call(alice, "POST", base + "/comments", json={"anchor": {"start": 0, "end": 1}, "body": ""}, expect=422)
    await env.call(alice, "GET", f"/api/workspaces/{workspace_id}/contributors?format=xml", expect=422)
    # A new, never edited file has no history to checkpoint yet.
    empty = (await env.create(alice, workspace_id, "empty.txt"))["id"]
    await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/files/{empty}/checkpoints", json={"name": "n"}, expect=409
    )
    assert (await _history(env, alice, f"/api/workspaces/{workspace_id}/files/{empty}"))["versions"] == []


async def test_access_rules(env: Env) -> None:
    alice, bob, carol, dave = [await env.user(n) for n in ("alice", "bob", "carol", "dave")]
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "viewer")
    await env.add(alice, workspace_id, dave, "editor")
    file_id = (await env.create(alice, workspace_id, "main.py", content="print(1)\n"))["id"]
    base = f"/api/workspaces/{workspace_id}/files/{file_id}"
    version = (await _history(env, alice, base))["head"]
    comment = (
        await env.call(
            alice, "POST", base + "/comments", json={"anchor": {"start": 0, "end": 5}, "body": "hi"}, expect=201
        )
    ).json()
    # Carol's own workspace, where Alice is a member too: Alice's file id under it is not a file there.
    other = await env.workspace(carol)
    await env.add(carol, other, alice, "owner")

    reads = [
        ("GET", base + "/history", None),
        ("GET", f"{base}/history/{version}", None),
        ("GET", f"{base}/history/diff?from={version}", None),
        ("GET", base + "/authorship", None),
        ("GET", base + "/contributors", None),
        ("GET", base + "/comments", None),
        ("GET", base + "/checkpoints", None),
        ("GET", f"/api/workspaces/{workspace_id}/contributors", None),
    ]
    writes = [
        ("POST", base + "/checkpoints", {"name": "mine"}),
        ("POST", base + "/restore", {"version": version}),
    ]
    comment_writes = [
        ("POST", base + "/comments", {"anchor": {"start": 0, "end": 1}, "body": "viewer note"}),
        ("PATCH", f"{base}/comments/{comment['id']}", {"resolved": True}),
    ]
    for method, url, body in reads + writes + comment_writes:
        kwargs = {"json": body} if body is not None else {}
        # Not a member: the one 404, whatever the route.
        assert_not_found(await env.call(carol, method, url, **kwargs), "outsider")
        if file_id not in url:
            continue  # the workspace-wide summary: Alice is a member of the other workspace
        # The file under another workspace's id (one Alice belongs to): 404 as well.
        assert_not_found(await env.call(alice, method, url.replace(workspace_id, other), **kwargs), "other workspace")
        # A file id that is no file, and one that is not an id at all.
        assert_not_found(await env.call(alice, method, url.replace(file_id, "0" * 32), **kwargs), "unknown file")
        assert_not_found(await env.call(alice, method, url.replace(file_id, "..%2F"), **kwargs), "not an id")
    for method, url, _body in reads:
        await env.call(bob, method, url, expect=200)
    for method, url, body in writes:
        response = await env.call(bob, method, url, json=body, expect=403)
        assert response.json()["error"]["code"] == "forbidden"
    # Viewers may comment, but resolve only their own comments.
    own = (await env.call(bob, *comment_writes[0][:2], json=comment_writes[0][2], expect=201)).json()
    await env.call(bob, "PATCH", f"{base}/comments/{own['id']}", json={"resolved": True}, expect=200)
    await env.call(bob, "PATCH", f"{base}/comments/{comment['id']}", json={"resolved": True}, expect=403)
    await env.call(dave, "PATCH", f"{base}/comments/{comment['id']}", json={"resolved": True}, expect=200)
    assert_not_found(await env.call(alice, "PATCH", f"{base}/comments/{'f' * 32}", json={"resolved": False}))
    await env.call(dave, "POST", base + "/checkpoints", json={"name": "dave's"}, expect=201)

    # A removed member loses everything at once.
    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/members/{bob.id}", expect=204)
    for method, url, body in reads + writes + comment_writes:
        kwargs = {"json": body} if body is not None else {}
        assert_not_found(await env.call(bob, method, url, **kwargs), "removed member")
    # Unauthenticated: 401.
    await env.call(None, "GET", base + "/history", expect=401)

    # Deleting the file deletes its history, checkpoints and comments with it.
    await env.call(alice, "DELETE", base, expect=204)
    db = env.services.db
    for table, column, value in (
        ("doc_history", "doc_id", f"{workspace_id}/{file_id}"),
        ("doc_checkpoints", "doc_id", f"{workspace_id}/{file_id}"),
        ("doc_comments", "file_id", file_id),
    ):
        count = await db.fetch_val(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (value,))
        assert count == 0, table
    assert_not_found(await env.call(alice, "GET", base + "/history"))


async def test_comments_are_rate_limited_per_person(env: Env) -> None:
    alice = await env.user("alice")
    workspace_id = await env.workspace(alice)
    file_id = (await env.create(alice, workspace_id, "a.txt", content="hello\n"))["id"]
    url = f"/api/workspaces/{workspace_id}/files/{file_id}/comments"
    body = {"anchor": {"start": 0, "end": 5}, "body": "again"}
    for _ in range(20):
        await env.call(alice, "POST", url, json=body, expect=201)
    refused = await env.call(alice, "POST", url, json=body, expect=429)
    assert int(refused.headers["retry-after"]) >= 1
    comments = (await env.call(alice, "GET", url, expect=200)).json()["comments"]
    assert len(comments) == 20 and all(c["anchor"]["snippet"] == "hello" for c in comments)


async def test_an_import_is_credited_to_whoever_imported(env: Env) -> None:
    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    archive = zip_bytes({"src/a.py": b"print('a')\n", "b.md": b"# b\n"})
    await env.call(
        bob,
        "POST",
        f"/api/workspaces/{workspace_id}/import",
        content=archive,
        headers={"content-type": "application/zip"},
        expect=200,
    )
    tree = await env.tree(alice, workspace_id)
    files = {e["path"]: e["id"] for e in tree["entries"] if e["kind"] == "file"}
    assert set(files) == {"src/a.py", "b.md"}
    for path, file_id in files.items():
        lines = (
            await env.call(alice, "GET", f"/api/workspaces/{workspace_id}/files/{file_id}/authorship", expect=200)
        ).json()["lines"]
        assert [line["user"]["username"] for line in lines] == ["bob"], path
    people = (await env.call(alice, "GET", f"/api/workspaces/{workspace_id}/contributors", expect=200)).json()
    assert [(p["user"]["username"], p["changes"]) for p in people["contributors"]] == [("bob", 2)]

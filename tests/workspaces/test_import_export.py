"""Zip import and export through the HTTP API: round trips, reports, guards and limits."""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import replace

from tests.workspaces.conftest import Env, User, zip_bytes

ZIP = {"content-type": "application/zip"}


async def setup(env: Env) -> tuple[User, str]:
    alice = await env.user("alice")
    return alice, await env.workspace(alice)


def sample_files(count: int) -> dict[str, bytes]:
    """``count`` text files of varied shapes: nesting, CRLF, BOM, Unicode, empty, long lines."""
    rng = random.Random(5)
    files: dict[str, bytes] = {}
    for i in range(count):
        folder = "/".join(f"d{rng.randrange(4)}" for _ in range(rng.randrange(4)))
        name = f"file-{i}-{'ü' if i % 7 == 0 else 'x'}.{['py', 'md', 'txt', 'js'][i % 4]}"
        path = f"{folder}/{name}" if folder else name
        body = "".join(f"line {j} {'✓' * (j % 3)} {rng.random()}\n" for j in range(rng.randrange(0, 60)))
        if i % 5 == 0:
            body = body.replace("\n", "\r\n")
        if i % 11 == 0:
            body = "\ufeff" + body
        if i % 13 == 0:
            body = body.rstrip("\n")
        files[path] = body.encode("utf-8")
    return files


async def import_zip(env: Env, user: User, workspace_id: str, data: bytes, expect: int = 200) -> dict:
    response = await env.call(
        user, "POST", f"/api/workspaces/{workspace_id}/import", content=data, headers=ZIP, expect=expect
    )
    return response.json()


async def export_zip(env: Env, user: User, workspace_id: str) -> zipfile.ZipFile:
    response = await env.call(user, "GET", f"/api/workspaces/{workspace_id}/export", expect=200)
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="Project.zip"')
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["content-length"]) == len(response.content)
    return zipfile.ZipFile(io.BytesIO(response.content))


async def test_two_hundred_files_round_trip_byte_identical(env: Env) -> None:
    alice, workspace_id = await setup(env)
    files = sample_files(200)
    summary = await import_zip(env, alice, workspace_id, zip_bytes(files))
    folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    assert summary["skipped"] == []
    assert summary["created"] == len(files) + len(folders)
    tree = await env.tree(alice, workspace_id)
    assert {e["path"] for e in tree["entries"] if e["kind"] == "file"} == set(files)
    sizes = {e["path"]: e["size"] for e in tree["entries"]}
    assert all(sizes[p] == len(data) for p, data in files.items())

    exported = await export_zip(env, alice, workspace_id)
    assert exported.testzip() is None
    names = {info.filename for info in exported.infolist()}
    assert names == set(files) | {f + "/" for f in folders}
    for path, data in files.items():
        assert exported.read(path) == data, path

    # And the export imports again into a fresh workspace, identically.
    other = await env.workspace(alice, "Copy")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as copy:
        for info in exported.infolist():
            copy.writestr(info, exported.read(info))
    again = await import_zip(env, alice, other, buffer.getvalue())
    assert again["skipped"] == [] and again["created"] == summary["created"]


async def test_import_reports_what_it_skipped(env: Env) -> None:
    alice, workspace_id = await setup(env)
    await env.create(alice, workspace_id, "exists.txt", content="old")
    await env.create(alice, workspace_id, "afile", content="")
    await env.create(alice, workspace_id, "Docs", kind="folder")
    data = zip_bytes(
        {
            "../escape.txt": b"x",
            "/abs.txt": b"x",
            "ok/one.txt": b"1",
            "image.png": b"\x89PNG\r\n\x1a\n\x00",
            "exists.txt": b"new",
            "EXISTS.TXT": b"new",
            "afile/inside.txt": b"x",
            "docs/readme.md": b"x",
            "Docs/": b"",
            "Docs/ok.md": b"# ok",
            "bidi\u202e.txt": b"x",
        }
    )
    summary = await import_zip(env, alice, workspace_id, data)
    assert summary["created"] == 3  # ok, ok/one.txt, Docs/ok.md
    assert sorted((s["path"], s["reason"]) for s in summary["skipped"]) == sorted(
        [
            ("../escape.txt", "invalid_path"),
            ("/abs.txt", "invalid_path"),
            ("image.png", "binary"),
            ("exists.txt", "already_exists"),
            ("EXISTS.TXT", "duplicate"),
            ("afile/inside.txt", "parent_is_file"),
            ("docs/readme.md", "case_conflict"),
            ("bidi\u202e.txt", "invalid_path"),
        ]
    )
    files = {e["path"]: e["id"] for e in (await env.tree(alice, workspace_id))["entries"]}
    assert await env.content(alice, workspace_id, files["exists.txt"]) == "old"
    assert await env.content(alice, workspace_id, files["ok/one.txt"]) == "1"


async def test_import_of_only_binary_files_is_415(env: Env) -> None:
    alice, workspace_id = await setup(env)
    response = await env.call(
        alice,
        "POST",
        f"/api/workspaces/{workspace_id}/import",
        content=zip_bytes({"a.png": b"\x89PNG\x00", "b.bin": b"\xff\xfe"}),
        headers=ZIP,
        expect=415,
    )
    assert response.json()["error"]["code"] == "binary_content"
    assert await env.paths(alice, workspace_id) == []


async def test_import_rejects_what_is_not_a_zip(env: Env) -> None:
    alice, workspace_id = await setup(env)
    url = f"/api/workspaces/{workspace_id}/import"
    bad = await env.call(alice, "POST", url, content=b"definitely not a zip", headers=ZIP, expect=400)
    assert bad.json()["error"]["code"] == "invalid_archive"
    await env.call(
        alice, "POST", url, content=zip_bytes({"a.txt": b"a"}), headers={"content-type": "application/json"}, expect=415
    )
    await env.call(alice, "POST", url, content=zip_bytes({"a.txt": b"a"}), expect=415)
    # Windows browsers label zips differently; that is accepted.
    await env.call(
        alice,
        "POST",
        url,
        content=zip_bytes({"a.txt": b"a"}),
        headers={"content-type": "application/x-zip-compressed"},
        expect=200,
    )
    empty = await import_zip(env, alice, workspace_id, zip_bytes({}))
    assert empty == {"created": 0, "skipped": [], "version": empty["version"]}


async def test_zip_bombs_are_refused(env: Env) -> None:
    alice, workspace_id = await setup(env)
    env.service.limits = replace(env.service.limits, max_file_bytes=64 * 1024, max_import_bytes=512 * 1024)
    # One entry inflating far past the per-file limit is skipped without being inflated.
    bomb = zip_bytes({"bomb.txt": b"0" * (20 * 1024 * 1024), "fine.txt": b"ok"})
    assert len(bomb) < 64 * 1024
    summary = await import_zip(env, alice, workspace_id, bomb)
    assert summary["skipped"] == [{"path": "bomb.txt", "reason": "too_large"}]
    # Many entries, each within the limit, together past the total: the whole import is refused.
    many = zip_bytes({f"part{i}.txt": bytes([65 + i % 26]) * (60 * 1024) for i in range(12)})
    refused = await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/import", content=many, headers=ZIP, expect=413
    )
    assert refused.json()["error"]["code"] == "archive_too_large"
    assert await env.paths(alice, workspace_id) == ["fine.txt"]


async def test_too_many_entries(env: Env) -> None:
    alice, workspace_id = await setup(env)
    env.service.limits = replace(env.service.limits, max_entries=10)
    over_archive = zip_bytes({f"f{i}.txt": b"x" for i in range(11)})
    refused = await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/import", content=over_archive, headers=ZIP, expect=413
    )
    assert refused.json()["error"]["code"] == "too_many_entries"
    await env.create(alice, workspace_id, "a/b.txt")
    over_workspace = zip_bytes({f"f{i}.txt": b"x" for i in range(9)})
    full = await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/import", content=over_workspace, headers=ZIP, expect=409
    )
    assert full.json()["error"]["code"] == "limit_reached"
    assert await env.paths(alice, workspace_id) == ["a", "a/b.txt"]


async def test_oversized_upload_is_413(env: Env) -> None:
    alice, workspace_id = await setup(env)
    limit = env.services.settings.max_upload_bytes
    await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/import", content=b"0" * (limit + 1), headers=ZIP, expect=413
    )


async def test_export_keeps_empty_folders_and_empty_workspaces_export_empty(env: Env) -> None:
    alice, workspace_id = await setup(env)
    assert (await export_zip(env, alice, workspace_id)).infolist() == []
    await env.create(alice, workspace_id, "empty/inner", kind="folder")
    await env.create(alice, workspace_id, "e.txt")
    exported = await export_zip(env, alice, workspace_id)
    assert [i.filename for i in exported.infolist()] == ["e.txt", "empty/", "empty/inner/"]
    assert exported.read("e.txt") == b""


async def test_export_reflects_live_edits(env: Env) -> None:
    alice, workspace_id = await setup(env)
    file = await env.create(alice, workspace_id, "live.txt", content="before")
    await env.call(
        alice,
        "PUT",
        f"/api/workspaces/{workspace_id}/files/{file['id']}/content",
        content="after ✓".encode(),
        headers={"content-type": "text/plain"},
        expect=200,
    )
    assert (await export_zip(env, alice, workspace_id)).read("live.txt") == "after ✓".encode()


class FailingContents:
    """Delegates to the real contents but fails the ``fail_at``-th write, like a database outage."""

    def __init__(self, inner: object, fail_at: int) -> None:
        self.inner = inner
        self.fail_at = fail_at
        self.writes = 0
        self.discarded: list[str] = []

    async def read(self, workspace_id: str, file_id: str) -> str:
        return await self.inner.read(workspace_id, file_id)  # type: ignore[attr-defined]

    async def write(self, workspace_id: str, file_id: str, text: str) -> None:
        self.writes += 1
        if self.writes == self.fail_at:
            from collabcode.errors import ServiceUnavailable

            raise ServiceUnavailable("The file could not be saved right now; try again shortly.")
        await self.inner.write(workspace_id, file_id, text)  # type: ignore[attr-defined]

    async def discard(self, workspace_id: str, file_ids: list[str]) -> None:
        self.discarded += file_ids
        await self.inner.discard(workspace_id, file_ids)  # type: ignore[attr-defined]


async def test_a_failed_import_creates_nothing(env: Env) -> None:
    alice, workspace_id = await setup(env)
    failing = FailingContents(env.service.contents, fail_at=5)
    env.service.contents = failing  # type: ignore[assignment]
    files = {f"dir/f{i}.txt": f"text {i}".encode() for i in range(20)}
    response = await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/import", content=zip_bytes(files), headers=ZIP, expect=503
    )
    assert response.headers["retry-after"]
    assert await env.paths(alice, workspace_id) == []
    assert (await env.tree(alice, workspace_id))["version"] == 0
    assert failing.discarded  # what was written before the failure is thrown away
    rows = await env.services.db.fetch_val(
        "SELECT COUNT(*) FROM documents WHERE substr(id, 1, 33) = ?", (f"{workspace_id}/",)
    )
    assert rows == 0


async def test_an_import_that_creates_nothing_changes_no_version(env: Env) -> None:
    alice, workspace_id = await setup(env)
    await env.create(alice, workspace_id, "a.txt", content="a")
    events: list[dict] = []
    env.service.subscribe_tree(workspace_id, events.append)
    summary = await import_zip(env, alice, workspace_id, zip_bytes({"a.txt": b"other", "../x": b"x"}))
    assert summary == {
        "created": 0,
        "skipped": [{"path": "../x", "reason": "invalid_path"}, {"path": "a.txt", "reason": "already_exists"}],
        "version": 1,
    }
    assert (await env.tree(alice, workspace_id))["version"] == 1
    assert events == []

"""Files and folders through the HTTP API: the tree, create, move, delete, contents, path attacks."""

from __future__ import annotations

from dataclasses import replace

from tests.workspaces.conftest import Env, User, assert_not_found


async def setup(env: Env) -> tuple[User, str]:
    alice = await env.user("alice")
    return alice, await env.workspace(alice)


async def test_tree_starts_empty(env: Env) -> None:
    alice, workspace_id = await setup(env)
    assert await env.tree(alice, workspace_id) == {"workspace_id": workspace_id, "version": 0, "entries": []}


async def test_create_auto_creates_parents_and_lists_the_tree_sorted(env: Env) -> None:
    alice, workspace_id = await setup(env)
    created = await env.create(alice, workspace_id, "src/app/main.py", content="print('hi')\n")
    assert set(created) == {"id", "path", "kind", "size", "updated_at"}
    assert created["path"] == "src/app/main.py" and created["kind"] == "file" and created["size"] == 12
    await env.create(alice, workspace_id, "src-notes.md", content="")
    await env.create(alice, workspace_id, "docs", kind="folder")
    await env.create(alice, workspace_id, "src/a.txt", content="ä")
    tree = await env.tree(alice, workspace_id)
    assert [(e["path"], e["kind"], e["size"]) for e in tree["entries"]] == [
        ("docs", "folder", 0),
        ("src", "folder", 0),
        ("src/a.txt", "file", 2),
        ("src/app", "folder", 0),
        ("src/app/main.py", "file", 12),
        ("src-notes.md", "file", 0),
    ]
    assert tree["version"] == 4
    assert await env.content(alice, workspace_id, created["id"]) == "print('hi')\n"


async def test_content_read_write_and_download_headers(env: Env) -> None:
    alice, workspace_id = await setup(env)
    file = await env.create(alice, workspace_id, 'dir/Ünïcode "name".txt', content="one\r\ntwo")
    url = f"/api/workspaces/{workspace_id}/files/{file['id']}/content"
    shown = await env.call(alice, "GET", url, expect=200)
    assert shown.content == b"one\r\ntwo"
    assert shown.headers["content-type"] == "text/plain; charset=utf-8"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["content-security-policy"] == "sandbox"
    assert "content-disposition" not in shown.headers

    downloaded = await env.call(alice, "GET", url + "?download=1", expect=200)
    disposition = downloaded.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"_n_code _name_.txt\"; filename*=UTF-8''")
    assert "%C3%9Cn%C3%AFcode%20%22name%22.txt" in disposition
    assert downloaded.headers["content-security-policy"] == "sandbox"

    text = "new text ✓\n" * 3
    put = await env.call(
        alice, "PUT", url, content=text.encode(), headers={"content-type": "text/plain; charset=utf-8"}, expect=200
    )
    assert put.json()["size"] == len(text.encode())
    assert await env.content(alice, workspace_id, file["id"]) == text
    # Other text types are fine too; the charset must be UTF-8.
    await env.call(alice, "PUT", url, content=b"x = 1\n", headers={"content-type": "text/x-python"}, expect=200)
    await env.call(alice, "PUT", url, content=b"x", headers={"content-type": "text/plain; charset=latin-1"}, expect=415)


async def test_binary_uploads_are_415(env: Env) -> None:
    alice, workspace_id = await setup(env)
    file = await env.create(alice, workspace_id, "a.txt", content="keep")
    url = f"/api/workspaces/{workspace_id}/files/{file['id']}/content"
    for data, content_type in [
        (b"\x89PNG\r\n\x1a\n", "text/plain"),
        (b"text\x00with nul", "text/plain"),
        (b"\xff\xfe\x00a", "text/plain"),
        (b"plain", "application/octet-stream"),
        (b"plain", "image/png"),
    ]:
        response = await env.call(alice, "PUT", url, content=data, headers={"content-type": content_type}, expect=415)
        assert response.json()["error"]["code"] in {"binary_content", "unsupported_media_type"}
    await env.call(alice, "PUT", url, content=b"no type", expect=415)
    files_url = f"/api/workspaces/{workspace_id}/files"
    for raw in [rb'"nul\u0000inside"', rb'"lone \ud800 surrogate"']:
        body = b'{"path": "b.txt", "kind": "file", "content": ' + raw + b"}"
        await env.call(alice, "POST", files_url, content=body, headers={"content-type": "application/json"}, expect=415)
    assert await env.content(alice, workspace_id, file["id"]) == "keep"


async def test_oversized_files_are_413(env: Env) -> None:
    alice, workspace_id = await setup(env)
    env.service.limits = replace(env.service.limits, max_file_bytes=1000)
    file = await env.create(alice, workspace_id, "a.txt", content="x" * 1000)
    url = f"/api/workspaces/{workspace_id}/files/{file['id']}/content"
    too_big = await env.call(alice, "PUT", url, content=b"y" * 1001, headers={"content-type": "text/plain"}, expect=413)
    assert too_big.json()["error"]["code"] == "file_too_large"

    async def chunks():  # no Content-Length: the limit applies while streaming
        for _ in range(20):
            yield b"z" * 100

    await env.call(alice, "PUT", url, content=chunks(), headers={"content-type": "text/plain"}, expect=413)
    await env.call(
        alice,
        "POST",
        f"/api/workspaces/{workspace_id}/files",
        json={"path": "b.txt", "kind": "file", "content": "é" * 501},
        expect=413,
    )
    # Over the server's upload limit: refused before the body is read.
    await env.call(
        alice,
        "PUT",
        url,
        content=b"y" * (env.services.settings.max_upload_bytes + 1),
        headers={"content-type": "text/plain"},
        expect=413,
    )
    assert await env.content(alice, workspace_id, file["id"]) == "x" * 1000


PATH_ATTACKS = [
    ("../escape.txt", "dot_segment"),
    ("a/../b.txt", "dot_segment"),
    ("./a.txt", "dot_segment"),
    ("/etc/passwd", "absolute"),
    ("a//b", "empty_segment"),
    ("dir/", "empty_segment"),
    ("nul\x00.txt", "control_character"),
    ("ctl\x07.txt", "control_character"),
    ("c1\x9b.txt", "control_character"),
    ("evil\u202etxt.exe", "bidi_or_invisible_character"),
    ("iso\u2066late", "bidi_or_invisible_character"),
    ("mark\u200f.txt", "bidi_or_invisible_character"),
    ("win\\path", "backslash"),
    ("", "empty"),
    ("x" * 256, "name_too_long"),
    ("/".join(["d"] * 33), "too_deep"),
    ("/".join(["a"] * 10_000), "string_too_long"),  # refused by the schema before the path rules
]


async def test_path_attacks_are_422_on_create_and_move(env: Env) -> None:
    alice, workspace_id = await setup(env)
    file = await env.create(alice, workspace_id, "keep.txt")
    for path, rule in PATH_ATTACKS:
        for method, url, body in [
            ("POST", f"/api/workspaces/{workspace_id}/files", {"path": path, "kind": "file"}),
            ("PATCH", f"/api/workspaces/{workspace_id}/files/{file['id']}", {"path": path}),
        ]:
            response = await env.call(alice, method, url, json=body, expect=422)
            error = response.json()["error"]
            assert error["code"] == "validation_failed" and error["details"]["field"] == "path", (path, error)
            assert error["details"]["rule"] == rule, (path, error)
    assert await env.paths(alice, workspace_id) == ["keep.txt"]


async def test_two_megabyte_path_is_refused(env: Env) -> None:
    alice, workspace_id = await setup(env)
    await env.call(
        alice,
        "POST",
        f"/api/workspaces/{workspace_id}/files",
        json={"path": "a" * (2 << 20), "kind": "file"},
        expect=413,
    )
    file = await env.create(alice, workspace_id, "a.txt")
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{file['id']}", json={"path": "b" * (2 << 20)}, expect=413
    )
    await env.call(
        alice,
        "PATCH",
        f"/api/workspaces/{workspace_id}/files/{file['id']}",
        json={"path": "b/" * 5000 + "c"},
        expect=422,
    )


async def test_nfc_normalisation_of_paths(env: Env) -> None:
    alice, workspace_id = await setup(env)
    created = await env.create(alice, workspace_id, "cafe\u0301.txt")
    assert created["path"] == "café.txt"
    clash = await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": "café.txt", "kind": "file"}, expect=409
    )
    assert clash.json()["error"]["code"] == "already_exists"


async def test_case_collisions(env: Env) -> None:
    alice, workspace_id = await setup(env)
    await env.create(alice, workspace_id, "Src/Main.py")
    url = f"/api/workspaces/{workspace_id}/files"
    for path, code in [
        ("src/main.py", "already_exists"),
        ("SRC/MAIN.PY", "already_exists"),
        ("src", "already_exists"),
        ("src/other.py", "case_conflict"),
        ("SRC/new/deep.py", "case_conflict"),
        ("Src/MAIN.py", "already_exists"),
    ]:
        response = await env.call(alice, "POST", url, json={"path": path, "kind": "file"}, expect=409)
        assert response.json()["error"]["code"] == code, path
    await env.create(alice, workspace_id, "Src/other.py")
    assert await env.paths(alice, workspace_id) == ["Src", "Src/Main.py", "Src/other.py"]


async def test_file_and_folder_conflicts(env: Env) -> None:
    alice, workspace_id = await setup(env)
    await env.create(alice, workspace_id, "notes")
    await env.create(alice, workspace_id, "dir", kind="folder")
    url = f"/api/workspaces/{workspace_id}/files"
    inside_file = await env.call(alice, "POST", url, json={"path": "notes/x.txt", "kind": "file"}, expect=409)
    assert inside_file.json()["error"]["code"] == "parent_is_file"
    await env.call(alice, "POST", url, json={"path": "notes", "kind": "folder"}, expect=409)
    await env.call(alice, "POST", url, json={"path": "dir", "kind": "file"}, expect=409)
    await env.call(alice, "POST", url, json={"path": "dir", "kind": "folder"}, expect=409)
    bad_folder = await env.call(alice, "POST", url, json={"path": "f", "kind": "folder", "content": "x"}, expect=422)
    assert bad_folder.json()["error"]["details"]["field"] == "content"
    for body in [
        {"path": "x", "kind": "link"},
        {"path": "x"},
        {"path": "x", "kind": "file", "id": "abc"},
        {"path": 5, "kind": "file"},
    ]:
        await env.call(alice, "POST", url, json=body, expect=422)


async def test_ids_are_server_generated(env: Env) -> None:
    alice, workspace_id = await setup(env)
    a = await env.create(alice, workspace_id, "a.txt")
    b = await env.create(alice, workspace_id, "b/c.txt")
    ids = [e["id"] for e in (await env.tree(alice, workspace_id))["entries"]]
    assert len(set(ids)) == 3 and a["id"] in ids and b["id"] in ids
    assert all(len(i) == 32 and i.isalnum() for i in ids)


async def test_rename_keeps_the_id_and_content(env: Env) -> None:
    alice, workspace_id = await setup(env)
    file = await env.create(alice, workspace_id, "old.txt", content="same")
    moved = await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{file['id']}", json={"path": "new/place.txt"}, expect=200
    )
    assert moved.json()["id"] == file["id"] and moved.json()["path"] == "new/place.txt"
    assert await env.paths(alice, workspace_id) == ["new", "new/place.txt"]
    assert await env.content(alice, workspace_id, file["id"]) == "same"
    # Case-only rename of the same entry is allowed.
    again = await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{file['id']}", json={"path": "new/Place.txt"}, expect=200
    )
    assert again.json()["path"] == "new/Place.txt"
    # Renaming to itself changes nothing.
    version = (await env.tree(alice, workspace_id))["version"]
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{file['id']}", json={"path": "new/Place.txt"}, expect=200
    )
    assert (await env.tree(alice, workspace_id))["version"] == version


async def test_folder_move_takes_the_subtree(env: Env) -> None:
    alice, workspace_id = await setup(env)
    deep = await env.create(alice, workspace_id, "src/lib/ünï/deep.py", content="deep")
    await env.create(alice, workspace_id, "src/top.py")
    await env.create(alice, workspace_id, "srcx.py")
    folder = next(e for e in (await env.tree(alice, workspace_id))["entries"] if e["path"] == "src")
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{folder['id']}", json={"path": "pkg/Source"}, expect=200
    )
    assert await env.paths(alice, workspace_id) == [
        "pkg",
        "pkg/Source",
        "pkg/Source/lib",
        "pkg/Source/lib/ünï",
        "pkg/Source/lib/ünï/deep.py",
        "pkg/Source/top.py",
        "srcx.py",
    ]
    assert await env.content(alice, workspace_id, deep["id"]) == "deep"
    # The moved entries keep working under their new keys: a case clash is still detected.
    await env.call(
        alice,
        "POST",
        f"/api/workspaces/{workspace_id}/files",
        json={"path": "PKG/SOURCE/TOP.PY", "kind": "file"},
        expect=409,
    )
    # Case-only rename of a folder.
    source = next(e for e in (await env.tree(alice, workspace_id))["entries"] if e["path"] == "pkg/Source")
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{source['id']}", json={"path": "pkg/source"}, expect=200
    )
    assert "pkg/source/lib/ünï/deep.py" in await env.paths(alice, workspace_id)


async def test_move_conflicts(env: Env) -> None:
    alice, workspace_id = await setup(env)
    await env.create(alice, workspace_id, "a/b/c.txt")
    await env.create(alice, workspace_id, "file.txt")
    await env.create(alice, workspace_id, "Other/x.txt")
    entries = {e["path"]: e["id"] for e in (await env.tree(alice, workspace_id))["entries"]}
    url = f"/api/workspaces/{workspace_id}/files"
    into_itself = await env.call(alice, "PATCH", f"{url}/{entries['a']}", json={"path": "a/b/a"}, expect=422)
    assert into_itself.json()["error"]["details"]["rule"] == "into_itself"
    await env.call(alice, "PATCH", f"{url}/{entries['a']}", json={"path": "A/b"}, expect=422)
    exists = await env.call(alice, "PATCH", f"{url}/{entries['file.txt']}", json={"path": "a/b/C.TXT"}, expect=409)
    assert exists.json()["error"]["code"] == "already_exists"
    under_file = await env.call(alice, "PATCH", f"{url}/{entries['a']}", json={"path": "file.txt/a"}, expect=409)
    assert under_file.json()["error"]["code"] == "parent_is_file"
    case = await env.call(alice, "PATCH", f"{url}/{entries['file.txt']}", json={"path": "other/f.txt"}, expect=409)
    assert case.json()["error"]["code"] == "case_conflict"
    await env.call(alice, "PATCH", f"{url}/{entries['file.txt']}", json={"path": "../f.txt"}, expect=422)
    await env.call(alice, "PATCH", f"{url}/{entries['file.txt']}", json={"path": "f.txt", "kind": "folder"}, expect=422)
    assert await env.paths(alice, workspace_id) == ["Other", "Other/x.txt", "a", "a/b", "a/b/c.txt", "file.txt"]


async def test_move_may_not_push_descendants_past_the_limits(env: Env) -> None:
    alice, workspace_id = await setup(env)
    await env.create(alice, workspace_id, "/".join(["d"] * 31) + "/f.txt")  # 32 levels
    await env.create(
        alice, workspace_id, "top/" + "x" * 250 + "/" + "y" * 250 + "/" + "z" * 250 + "/" + "f" * 20
    )  # 777 bytes
    entries = {e["path"]: e["id"] for e in (await env.tree(alice, workspace_id))["entries"]}
    url = f"/api/workspaces/{workspace_id}/files"
    deeper = await env.call(alice, "PATCH", f"{url}/{entries['d']}", json={"path": "e/d"}, expect=422)
    assert deeper.json()["error"]["details"]["rule"] == "too_deep"
    longer = await env.call(alice, "PATCH", f"{url}/{entries['top']}", json={"path": "t" * 255}, expect=422)  # 1,029
    assert longer.json()["error"]["details"]["rule"] == "path_too_long"


async def test_delete_file_and_folder_recursively(env: Env) -> None:
    alice, workspace_id = await setup(env)
    a = await env.create(alice, workspace_id, "a/b/c.txt", content="x")
    await env.create(alice, workspace_id, "a/d.txt")
    await env.create(alice, workspace_id, "ab.txt")
    entries = {e["path"]: e["id"] for e in (await env.tree(alice, workspace_id))["entries"]}
    url = f"/api/workspaces/{workspace_id}/files"
    stored = "SELECT COUNT(*) FROM documents WHERE id = ?"
    assert await env.services.db.fetch_val(stored, (f"{workspace_id}/{a['id']}",)) == 1
    await env.call(alice, "DELETE", f"{url}/{entries['a/d.txt']}", expect=204)
    await env.call(alice, "DELETE", f"{url}/{entries['a']}", expect=204)
    assert await env.paths(alice, workspace_id) == ["ab.txt"]
    # The deleted file's document is gone from storage too.
    assert await env.services.db.fetch_val(stored, (f"{workspace_id}/{a['id']}",)) == 0
    assert_not_found(await env.call(alice, "GET", f"{url}/{a['id']}/content"))
    assert_not_found(await env.call(alice, "DELETE", f"{url}/{entries['a']}"))
    # The path is free again, with a new id.
    again = await env.create(alice, workspace_id, "a/b/c.txt")
    assert again["id"] != a["id"]
    assert await env.content(alice, workspace_id, again["id"]) == ""


async def test_folders_have_no_content(env: Env) -> None:
    alice, workspace_id = await setup(env)
    folder = await env.create(alice, workspace_id, "dir", kind="folder")
    url = f"/api/workspaces/{workspace_id}/files/{folder['id']}/content"
    response = await env.call(alice, "GET", url, expect=409)
    assert response.json()["error"]["code"] == "not_a_file"
    await env.call(alice, "PUT", url, content=b"x", headers={"content-type": "text/plain"}, expect=409)


async def test_entry_limit(env: Env) -> None:
    alice, workspace_id = await setup(env)
    env.service.limits = replace(env.service.limits, max_entries=3)
    await env.create(alice, workspace_id, "a/b.txt")
    refused = await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": "c/d.txt", "kind": "file"}, expect=409
    )
    assert refused.json()["error"]["code"] == "limit_reached"
    await env.create(alice, workspace_id, "a/c.txt")
    await env.call(
        alice, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": "e", "kind": "folder"}, expect=409
    )
    assert await env.paths(alice, workspace_id) == ["a", "a/b.txt", "a/c.txt"]


async def test_versions_grow_with_every_change(env: Env) -> None:
    alice, workspace_id = await setup(env)
    file = await env.create(alice, workspace_id, "a.txt")
    assert (await env.tree(alice, workspace_id))["version"] == 1
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{file['id']}", json={"path": "b.txt"}, expect=200
    )
    await env.call(
        alice,
        "PUT",
        f"/api/workspaces/{workspace_id}/files/{file['id']}/content",
        content=b"x",
        headers={"content-type": "text/plain"},
        expect=200,
    )
    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/files/{file['id']}", expect=204)
    assert (await env.tree(alice, workspace_id))["version"] == 4

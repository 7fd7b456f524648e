"""CollabService: server code reads and changes documents that clients are editing live."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from collabcode.collab.service import DocumentVersion, InvalidDocumentId, collab_service, document_id
from tests.collab import text_of
from tests.collab.live import LiveApp, joined
from tests.fixtures_bus import eventually


async def test_server_changes_reach_open_editors_and_are_durable_on_return(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        collab = collab_service(live.services)
        alice = await joined("alice", live.url("alice"))
        alice.type("def f():\n    return 1\n")
        room = await collab.open("ws1", "file1")
        await eventually(lambda: room.text == "def f():\n    return 1\n", 5, "alice's text on the server")
        assert await collab.text("ws1", "file1") == "def f():\n    return 1\n"

        await collab.replace_text("ws1", "file1", "def f():\n    return 2\n")
        assert text_of(await collab.store.load("ws1/file1")) == "def f():\n    return 2\n"  # durable
        await alice.wait_text("def f():\n    return 2\n")  # and live

        assert await collab.edit("ws1", "file1", 0, 3, "async def") == "async def f():\n    return 2\n"
        await alice.wait_text("async def f():\n    return 2\n")
        with pytest.raises(ValueError):
            await collab.edit("ws1", "file1", 5, 1000, "x")

        version = await collab.snapshot("ws1", "file1")
        assert DocumentVersion.from_state(version.state) == version
        alice.type("# later edit\n")
        await eventually(lambda: room.text.endswith("# later edit\n"), 5, "alice's edit on the server")
        await collab.restore("ws1", "file1", version)
        await alice.wait_text("async def f():\n    return 2\n")
        assert await collab.text("ws1", "file1") == version.text
        await alice.close()


async def test_documents_are_scoped_by_workspace(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        collab = collab_service(live.services)
        await collab.replace_text("ws1", "file1", "in workspace one")
        assert await collab.text("ws2", "file1") == ""  # same file id, another workspace: another document
        with pytest.raises(InvalidDocumentId):
            await collab.text("ws1", "../file1")
    assert document_id("ws1", "file1") == "ws1/file1"
    with pytest.raises(ValueError):
        DocumentVersion.from_state(b"\xff\xff not an update")


def test_the_service_is_only_there_when_the_feature_runs() -> None:
    with pytest.raises(RuntimeError):
        collab_service(SimpleNamespace(extras={}))  # type: ignore[arg-type]

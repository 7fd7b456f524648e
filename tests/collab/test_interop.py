"""Interop: the stock JavaScript y-websocket client and a pycrdt client share one document
through a live server (uvicorn on a free port, the real app and socket code)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.collab.live import LiveApp, joined, token_for
from tests.services import require

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
SCRIPT = Path(__file__).with_name("interop_client.mjs")


def _node_modules() -> Path:
    """The frontend's own node_modules (same y-websocket the browser app ships)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    require(node is not None and npm is not None, "Node.js and npm")
    assert npm is not None
    modules = FRONTEND / "node_modules"
    if not (modules / "y-websocket").is_dir():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=FRONTEND,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    return modules


def _node_flags(node: str) -> list[str]:
    """Node 20 has a WebSocket global only behind a flag; later versions have it by default."""
    probe = subprocess.run([node, "-e", "process.exit(typeof WebSocket === 'undefined' ? 1 : 0)"], timeout=30)
    return [] if probe.returncode == 0 else ["--experimental-websocket"]


async def _events(process: asyncio.subprocess.Process, timeout: float) -> list[dict[str, Any]]:
    assert process.stdout is not None
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        async for line in process.stdout:
            events.append(json.loads(line))
            if events[-1]["event"] in {"done", "timeout"}:
                break
    return events


async def test_stock_websocket_provider_and_pycrdt_converge(tmp_path: Path) -> None:
    modules = _node_modules()
    node = shutil.which("node")
    assert node is not None
    workdir = tmp_path / "js"
    workdir.mkdir()
    shutil.copy(SCRIPT, workdir / SCRIPT.name)
    (workdir / "node_modules").symlink_to(modules, target_is_directory=True)

    async with LiveApp(tmp_path / "data") as live:
        py = await joined("bob", live.url("bob", workspace="ws1", file="f1"))
        py.type("line from pycrdt\n")
        process = await asyncio.create_subprocess_exec(
            node,
            *_node_flags(node),
            SCRIPT.name,
            f"ws://127.0.0.1:{live.port}/ws/collab/ws1",
            "f1",
            token_for("alice"),
            "line from y-websocket\n",
            "line from pycrdt\n",
            cwd=workdir,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            events = await _events(process, timeout=40)
            done = events[-1] if events else {"event": "nothing"}
            if done["event"] != "done":
                process.kill()
                assert process.stderr is not None
                stderr = (await process.stderr.read()).decode(errors="replace")
                pytest.fail(f"the JavaScript client did not finish: {events}\n{stderr[-2000:]}")
            # Both edits are in the JS copy, and the pycrdt copy converges on the same text.
            assert "line from y-websocket\n" in done["text"] and "line from pycrdt\n" in done["text"]
            await py.wait_text(done["text"])
            # Presence carries the server's identity on both sides, whatever the clients claimed.
            assert {"id": "bob", "name": "Bob Tester", "color": "#336699"} in done["users"]
            await py.wait_for(lambda: any(u.get("id") == "alice" for u in py.remote_users()), "alice's presence")
            assert [u["name"] for u in py.remote_users() if u.get("id") == "alice"] == ["Alice Tester"]
        finally:
            if process.returncode is None:
                assert process.stdin is not None
                process.stdin.close()
                async with asyncio.timeout(10):
                    await process.wait()
        assert process.returncode == 0
        # The server holds the same document, and stored it.
        assert await live.collab.text("ws1", "f1") == done["text"]
        await live.collab.manager.flush("ws1/f1")
        assert await live.collab.store.load("ws1/f1") is not None
        await py.close()

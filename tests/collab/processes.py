"""Server processes for the crash and scale-out tests: ``tests/collab/serve_app.py`` on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import LiveServer, wait_healthy
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def start_app_process(data_dir: Path, *args: str, timeout: float = 20.0) -> LiveServer:
    """Start the app in a process of its own and wait until /healthz answers."""
    port = free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"server-{port}.log"
    cmd = [sys.executable, "-m", "tests.collab.serve_app", "--port", str(port), "--data-dir", str(data_dir), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT), env=env)
    server = LiveServer(f"http://127.0.0.1:{port}", port, data_dir, process, log_path)
    wait_healthy(server, timeout)
    return server


def socket_url(server: LiveServer, user: str, workspace: str = "ws1", file: str = "file1", extra: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}/ws/collab/{workspace}/{file}?ticket=test-token-{user}{extra}"

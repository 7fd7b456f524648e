"""The servers under test: how each starts, where its documents live, how clients authenticate.

A :class:`Target` knows its command line, the URL of a document and the headers a connection
sends; :class:`Server` is one running process of it on a free loopback port, with its memory
read from ``/proc``. Every server started here is stopped on exit, Ctrl-C included.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from collabbench.wire import HOCUSPOCUS, PLAIN, Endpoint

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
NODE_MODULES = BENCH_DIR / "node_modules"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    return found


def rss_kib(pid: int) -> int:
    """VmRSS of a process and all its descendants, in KiB (0 for a process that is gone)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError), open(f"/proc/{current}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        pending.extend(_children(current))
    return total


@dataclass(eq=False)
class Server:
    """One running server process (its own session, so its children stop with it)."""

    target: Target
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    state: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return rss_kib(self.process.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def endpoint(self, doc: str, index: int = 0) -> Endpoint:
        return self.target.endpoint(self, doc, index)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        _RUNNING.discard(self)
        self.target.cleanup(self)


_RUNNING: set[Server] = set()


@atexit.register
def stop_all() -> None:
    """Stop every server this process started (also runs on Ctrl-C and SIGTERM via SystemExit)."""
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.stop(timeout=5)


class Target:
    """A collaboration server the benchmark can start and connect to."""

    name = ""
    label = ""
    framing = PLAIN
    is_peer = True  # collabcode is the one under test; the others are its peers

    def command(self, port: int, workdir: Path) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def available(self) -> str | None:
        """None when this target can run here, else why not."""
        return None

    def version(self) -> str:
        return ""

    def prepare(self, server: Server) -> None:
        """Runs once the port accepts connections (create accounts, tokens...)."""

    def cleanup(self, server: Server) -> None:
        """Runs after the process stopped."""

    def url(self, server: Server, doc: str) -> str:
        return f"ws://{HOST}:{server.port}/{doc}"

    def headers(self, server: Server, index: int) -> tuple[tuple[str, str], ...]:
        return ()

    def endpoint(self, server: Server, doc: str, index: int) -> Endpoint:
        return Endpoint(self.url(server, doc), doc, self.framing, self.headers(server, index))

    def start(self, *, timeout: float = 30.0) -> Server:
        reason = self.available()
        if reason:
            raise RuntimeError(f"{self.name}: {reason}")
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix=f"collab-bench-{self.name}-"))
        argv, env = self.command(port, workdir)
        log_path = workdir / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                argv,
                cwd=workdir,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(self, port, process, workdir, log_path)
        _RUNNING.add(server)
        deadline = time.monotonic() + timeout
        while True:
            if not server.alive():
                server.stop()
                raise RuntimeError(f"{self.name} exited with {process.returncode}:\n{server.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"{self.name} did not listen on {port} within {timeout:.0f} s:\n{server.log_tail()}")
            time.sleep(0.05)
        try:
            self.prepare(server)
        except BaseException:
            server.stop()
            raise
        return server


def _node_package_version(package: str) -> str:
    with contextlib.suppress(OSError, ValueError):
        return str(json.loads((NODE_MODULES / package / "package.json").read_text())["version"])
    return "?"


def _python_package_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


class _NodeTarget(Target):
    package = ""

    def available(self) -> str | None:
        if not (NODE_MODULES / self.package / "package.json").exists():
            return f"{self.package} is not installed: run `npm ci` in {BENCH_DIR}"
        return None

    def version(self) -> str:
        return f"{self.package} {_node_package_version(self.package)}, yjs {_node_package_version('yjs')}"


class HocuspocusTarget(_NodeTarget):
    name = "hocuspocus"
    label = "Hocuspocus"
    framing = HOCUSPOCUS
    package = "@hocuspocus/server"

    def command(self, port: int, workdir: Path) -> tuple[list[str], dict[str, str]]:
        return ["node", str(BENCH_DIR / "servers" / "hocuspocus.mjs")], {"HOST": HOST, "PORT": str(port)}

    def url(self, server: Server, doc: str) -> str:
        return f"ws://{HOST}:{server.port}/"

    def endpoint(self, server: Server, doc: str, index: int) -> Endpoint:
        return Endpoint(self.url(server, doc), doc, self.framing, self.headers(server, index), token="bench")


class YWebsocketTarget(_NodeTarget):
    name = "ywebsocket"
    label = "y-websocket"
    package = "@y/websocket-server"

    def command(self, port: int, workdir: Path) -> tuple[list[str], dict[str, str]]:
        server_js = NODE_MODULES / self.package / "src" / "server.js"
        return ["node", str(server_js)], {"HOST": HOST, "PORT": str(port)}


class PycrdtTarget(Target):
    name = "pycrdt"
    label = "pycrdt-websocket"

    def available(self) -> str | None:
        try:
            import pycrdt.websocket  # noqa: F401
        except ImportError:
            return f"pycrdt-websocket is not installed: pip install -r {BENCH_DIR / 'requirements.txt'}"
        return None

    def version(self) -> str:
        websocket, crdt = _python_package_version("pycrdt-websocket"), _python_package_version("pycrdt")
        return f"pycrdt-websocket {websocket}, pycrdt {crdt}"

    def command(self, port: int, workdir: Path) -> tuple[list[str], dict[str, str]]:
        script = BENCH_DIR / "servers" / "pycrdt_ws.py"
        return [sys.executable, str(script), "--host", HOST, "--port", str(port)], {}


PEERS: tuple[type[Target], ...] = (HocuspocusTarget, YWebsocketTarget, PycrdtTarget)


def all_targets() -> dict[str, Target]:
    from collabbench.collabcode_target import CollabcodeTarget

    targets: list[Target] = [CollabcodeTarget(), *(peer() for peer in PEERS)]
    return {target.name: target for target in targets}

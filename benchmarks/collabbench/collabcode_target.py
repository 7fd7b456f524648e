"""collabcode as a benchmark target: the real app under ``benchmarks/servers/collabcode_server.py``.

Documents live at ``/ws/collab/bench/<room>``; each connection authenticates with a Bearer
token naming one of 100 benchmark users (see the launcher's docstring for what it swaps).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from collabbench.targets import BENCH_DIR, HOST, REPO_DIR, Server, Target, _python_package_version

USERS = 100
WORKSPACE = "bench"


class CollabcodeTarget(Target):
    name = "collabcode"
    label = "collabcode"
    is_peer = False

    def __init__(self) -> None:
        self._tokens: dict[int, str] = {}

    def available(self) -> str | None:
        for needed in ("collab/routes.py", "collab/feature.py", "auth/dependencies.py"):
            if not (REPO_DIR / "collabcode" / needed).exists():
                return f"collabcode/{needed} does not exist yet"
        try:
            import collabcode.collab.feature  # noqa: F401
        except ImportError as exc:
            return f"collabcode's collaboration feature does not import: {exc}"
        return None

    def version(self) -> str:
        ours, crdt = _python_package_version("collabcode"), _python_package_version("pycrdt")
        return f"collabcode {ours} (working tree), pycrdt {crdt}"

    def command(self, port: int, workdir: Path) -> tuple[list[str], dict[str, str]]:
        token = secrets.token_urlsafe(24)
        self._tokens[port] = token
        script = BENCH_DIR / "servers" / "collabcode_server.py"
        argv = [sys.executable, str(script), "--host", HOST, "--port", str(port), "--data-dir", str(workdir / "data")]
        return argv, {"COLLAB_BENCH_TOKEN": token, "PYTHONPATH": str(REPO_DIR)}

    def cleanup(self, server: Server) -> None:
        self._tokens.pop(server.port, None)

    def url(self, server: Server, doc: str) -> str:
        return f"ws://{HOST}:{server.port}/ws/collab/{WORKSPACE}/{doc}"

    def headers(self, server: Server, index: int) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {self._tokens[server.port]}.{index % USERS}"),)

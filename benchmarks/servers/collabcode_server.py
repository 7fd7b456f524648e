"""Benchmark harness for collabcode: the real app and server, with benchmark credentials.

Usage: COLLAB_BENCH_TOKEN=<secret> python benchmarks/servers/collabcode_server.py \
           --host 127.0.0.1 --port 8123 --data-dir /tmp/somewhere

This is ``collabcode serve`` (``create_app`` + ``build_server``: uvicorn on uvloop, the SQLite
update log with group commit in ``--data-dir``, the in-process broker, logging at the default
level) with three things swapped through the collaboration feature's injection points, because
a load generator on one loopback address cannot go through the accounts flow thousands of times:

* authentication: ``Authorization: Bearer <secret>.<n>`` identifies benchmark user ``bench-<n>``
  (a constant-time comparison instead of a signed token plus a session lookup); the periodic
  session re-check answers "alive" without the database;
* permission: every benchmark user may write every document;
* limits: the per-IP and per-user socket caps and the per-socket message rate are raised, so
  5,000 sockets from 127.0.0.1 and the max-rate scenario's fast typists are not refused.

Everything after the handshake (rooms, relay, storage, awareness, outboxes) is the product's.
It is never part of the package and must not be used to serve anything.

With ``COLLAB_BENCH_PROFILE=<path>`` in the environment, the server runs under cProfile and
writes ``<path>.<pid>`` when it stops (slower; for finding where the time goes, not for figures).
"""

from __future__ import annotations

import argparse
import hmac
import os
import sys
from pathlib import Path

from starlette.websockets import WebSocket

from collabcode.app import create_app
from collabcode.auth.dependencies import WebSocketRejected, bearer_token
from collabcode.auth.identity import Identity
from collabcode.collab.authorization import Access
from collabcode.collab.connection import SocketLimits
from collabcode.collab.feature import set_authenticator, set_authorizer, set_limits
from collabcode.logs import configure_logging
from collabcode.server import build_server
from collabcode.services import Services
from collabcode.settings import load_settings

BENCH_LIMITS = SocketLimits(
    max_per_user=1_000_000,
    max_per_ip=1_000_000,
    messages_per_second=100_000.0,
    message_burst=100_000,
)


class BenchmarkCredentials:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    async def authenticate(self, websocket: WebSocket) -> Identity:
        token = bearer_token(websocket) or ""
        secret, _, user = token.rpartition(".")
        if not hmac.compare_digest(secret.encode(), self._secret) or not user.isdigit():
            raise WebSocketRejected("invalid_token")
        return Identity(
            user_id=f"bench-{user}",
            session_id=f"bench-session-{user}",
            username=f"bench{user}",
            display_name=f"Benchmark user {user}",
            role="member",
            email_verified=True,
            avatar_color="#336699",
        )

    async def session_alive(self, services: Services, session_id: str) -> bool:
        return True


class WriteEverything:
    async def access(self, identity: Identity, workspace_id: str, file_id: str) -> Access:
        return "write"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    secret = os.environ.get("COLLAB_BENCH_TOKEN", "")
    if len(secret) < 16:
        sys.exit("COLLAB_BENCH_TOKEN must hold a secret of at least 16 characters")
    # Thousands of sockets come from 127.0.0.1: lift the per-address connection cap too.
    overrides = {"host": args.host, "port": args.port, "data_dir": args.data_dir, "max_connections_per_ip": 1_000_000}
    settings = load_settings(overrides)
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)
    credentials = BenchmarkCredentials(secret)
    set_authenticator(app, credentials.authenticate, session_alive=credentials.session_alive)
    set_authorizer(app, WriteEverything())
    set_limits(app, BENCH_LIMITS)
    server = build_server(app, settings)
    profile_to = os.environ.get("COLLAB_BENCH_PROFILE")
    if not profile_to:
        server.run()
        return
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.runcall(server.run)
    finally:
        profiler.dump_stats(f"{profile_to}.{os.getpid()}")


if __name__ == "__main__":
    main()

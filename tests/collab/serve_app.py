"""A collabcode server process with test identities and permissions, for tests that need a real
process (to kill it, or to run two against one database and one Redis).

Same app factory and server as ``collabcode serve``; only the socket's authenticator and
permission rule are the ones from ``tests/collab/testauth.py`` (workspaces do not decide access
here). Usage::

    python -m tests.collab.serve_app --port N --data-dir DIR [--database-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from collabcode.app import create_app
from collabcode.logs import configure_logging
from collabcode.server import build_server
from collabcode.settings import Settings
from tests.collab.testauth import FakeAuth, RoleRule, configure_test_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    settings = Settings(
        data_dir=args.data_dir,
        host="127.0.0.1",
        port=args.port,
        database_url=args.database_url,
        redis_url=args.redis_url,
        log_format="json",
        bcrypt_rounds=4,
    )
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)
    configure_test_app(app, FakeAuth(), RoleRule())
    build_server(app, settings).run()


if __name__ == "__main__":
    main()

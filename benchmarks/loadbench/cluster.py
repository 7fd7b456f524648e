"""A load-test cluster: a fresh PostgreSQL database, a private redis-server and 1-2 real
``collabcode serve`` processes sharing one data directory (so one set of instance secrets).

The servers and Redis come from the test suite's own helpers (``tests.conftest.start_server``,
``tests.conftest.new_postgres_database``, ``tests.fixtures_bus.RedisServer``), so the benchmark
starts processes exactly as the chaos tests do. Benchmark people are created straight in the
database through the admin CLI's ``open_auth`` (bcrypt cost 4 there; the REST login scenario
re-hashes its accounts at cost 12, see :func:`Cluster.people`).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chat_bench import PASSWORD, stop_server

import collabcode.cli  # noqa: F401  (loads the admin commands in their order)
from collabcode.admin_cli import open_auth
from collabcode.auth import store as auth_store
from collabcode.auth.events import ClientInfo
from collabcode.auth.passwords import PasswordHasher
from collabcode.settings import Settings
from tests.conftest import LiveServer, new_postgres_database, start_server
from tests.fixtures_bus import RedisServer
from tests.services import free_port


def client_ip(index: int) -> str:
    """A distinct loopback source address per person (127.1.x.y), like distinct users' machines.

    The product caps sockets and sign-ins per IP; a load generator on one address would measure
    those caps, not the server.
    """
    return f"127.1.{index // 250}.{index % 250 + 1}"


@dataclass(frozen=True, slots=True)
class Person:
    index: int
    username: str
    user_id: str
    token: str
    ip: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass
class Cluster:
    """Servers on one database and one Redis; ``urls[i]`` is process i."""

    workdir: Path
    database_url: str
    redis: RedisServer
    bcrypt_rounds: int
    servers: list[LiveServer] = field(default_factory=list)
    _created: int = 0

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.process.pid for server in self.servers]

    def settings(self, rounds: int = 4) -> Settings:
        return Settings(
            data_dir=self.data_dir, database_url=self.database_url, redis_url=self.redis.url, bcrypt_rounds=rounds
        )

    async def people(self, count: int, *, prefix: str = "u", login_rounds: int | None = None) -> list[Person]:
        """Create ``count`` verified accounts and sign each in (a session and an access token).

        With ``login_rounds`` the accounts' password hashes are replaced by one hash of that
        cost, so ``POST /api/auth/login`` does the production amount of bcrypt work.
        """
        made: list[Person] = []
        async with open_auth(self.settings()) as service:
            for _ in range(count):
                index = self._created
                self._created += 1
                name = f"{prefix}{index:05d}"
                user = await service.create_user(
                    email=f"{name}@example.com", username=name, display_name=name, password=PASSWORD, verified=True
                )
                client = ClientInfo(ip=client_ip(index), user_agent="load-bench")
                signed_in = await service.login(login=name, password=PASSWORD, client=client)
                made.append(Person(index, name, user.id, signed_in.access_token, client_ip(index)))
            if login_rounds is not None:
                hasher = PasswordHasher(login_rounds)
                try:
                    slow_hash = await hasher.hash(PASSWORD)
                finally:
                    hasher.close()
                now = int(time.time() * 1000)
                async with service.db.transaction("load_bench.rehash") as tx:
                    for person in made:
                        await auth_store.set_password_hash(tx, person.user_id, slow_hash, now)
        return made


@contextlib.contextmanager
def cluster(processes: int, *, bcrypt_rounds: int = 4, pool_size: int = 20) -> Iterator[Cluster]:
    """Start ``processes`` servers (one after another: the first creates the instance secrets)."""
    workdir = Path(tempfile.mkdtemp(prefix="load-bench-"))
    redis = RedisServer(free_port(), workdir)
    try:
        with new_postgres_database() as database_url:
            redis.start()
            running = Cluster(workdir, database_url, redis, bcrypt_rounds)
            env = {"COLLABCODE_BCRYPT_ROUNDS": str(bcrypt_rounds), "COLLABCODE_LOG_LEVEL": "warning"}
            try:
                for _ in range(processes):
                    running.servers.append(
                        start_server(
                            running.data_dir,
                            "--database-url",
                            database_url,
                            "--redis-url",
                            redis.url,
                            "--db-pool-size",
                            str(pool_size),
                            "--stun-port",
                            "0",
                            env=env,
                            timeout=60,
                        )
                    )
                yield running
            finally:
                for server in running.servers:
                    stop_server(server.process)
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)

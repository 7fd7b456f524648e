"""A private PostgreSQL server for tests that stop and start it (never the shared one).

The cluster lives in a fresh directory owned by the ``postgres`` user (initdb refuses to run as
root) and listens on 127.0.0.1 on a free port with trust authentication. fsync is off (only a
machine crash would need it); commits are still synchronous, so a server stopped at once keeps
everything it acknowledged, as a real one does.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.services import free_port, require


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    def __init__(self) -> None:
        bin_dir = _bin_dir()
        require(bin_dir is not None and _postgres_user() is not None, "PostgreSQL server binaries (initdb, pg_ctl)")
        assert bin_dir is not None
        self._bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cc-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        shutil.chown(self.root, user="postgres")
        os.chmod(self.root, 0o700)
        initdb = [str(self._bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        self._as_postgres(initdb)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                # fsync only matters if the machine crashes; synchronous_commit must stay on, or
                # an immediate stop loses commits the server already acknowledged.
                "fsync = off\n"
            )
        self.start()
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", "CREATE DATABASE collabcode"],
            check=True, capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/collabcode"

    def _as_postgres(self, args: list[str]) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._as_postgres([str(self._bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"])

    def stop(self) -> None:
        """Stop at once, as a crash or an operator would: open connections are cut."""
        self._as_postgres([str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def ready(self) -> bool:
        probe = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True)
        return probe.returncode == 0

    def close(self) -> None:
        try:
            if self.ready():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _postgres_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


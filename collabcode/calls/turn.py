"""The managed TURN server: a hardened coturn config in the data directory, and a supervised child.

TURN relays media for people who cannot reach each other directly (symmetric NATs, UDP-hostile
networks). A TURN server is an open relay unless it is locked down, so the generated config
only accepts TURN REST API credentials made with the instance's shared secret
(``use-auth-secret``), refuses to relay to loopback, private, link-local, multicast and other
special address ranges (so nobody can use it to reach the LAN or the host itself), turns off the
telnet CLI and TLS listeners it has no certificate for, and keeps its pid file and user database
in the data directory. ``collabcode serve --turn`` writes the file on every start and runs
``turnserver -c`` under :class:`TurnSupervisor`, which restarts it with backoff when it exits
and stops it on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from collabcode.settings import Settings

log = logging.getLogger(__name__)

TURN_DIR = "turn"
CONFIG_FILE = "turnserver.conf"

#: Peer ranges the relay refuses: "this network", carrier-grade NAT, link-local, IETF and
#: benchmarking blocks, multicast and reserved. Private and loopback ranges are added unless allowed.
SPECIAL_PEER_RANGES = (
    "0.0.0.0-0.255.255.255",
    "100.64.0.0-100.127.255.255",
    "169.254.0.0-169.254.255.255",
    "192.0.0.0-192.0.0.255",
    "192.0.2.0-192.0.2.255",
    "198.18.0.0-198.19.255.255",
    "198.51.100.0-198.51.100.255",
    "203.0.113.0-203.0.113.255",
    "224.0.0.0-255.255.255.255",
    "64:ff9b::-64:ff9b::ffff:ffff",
    "::ffff:0.0.0.0-::ffff:255.255.255.255",
    "100::-100::ffff:ffff:ffff:ffff",
    "2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)
PRIVATE_PEER_RANGES = (
    "10.0.0.0-10.255.255.255",
    "172.16.0.0-172.31.255.255",
    "192.168.0.0-192.168.255.255",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)
LOOPBACK_PEER_RANGES = ("127.0.0.0-127.255.255.255", "::1-::1")


@dataclass(frozen=True, slots=True)
class TurnPaths:
    directory: Path
    config: Path
    pidfile: Path
    userdb: Path

    @classmethod
    def of(cls, data_dir: Path) -> TurnPaths:
        directory = data_dir / TURN_DIR
        return cls(directory, directory / CONFIG_FILE, directory / "turnserver.pid", directory / "turndb.sqlite")


def listen_host(settings: Settings) -> str:
    return settings.rtc_host or settings.host


def realm_of(settings: Settings) -> str:
    from urllib.parse import urlsplit

    if settings.turn_realm:
        return settings.turn_realm
    if settings.public_host:
        return settings.public_host
    return urlsplit(settings.base_url).hostname or "collabcode"


def render_config(settings: Settings, secret: str, paths: TurnPaths) -> str:
    """The coturn config for ``settings`` (``secret`` is the TURN REST API shared secret)."""
    if settings.turn_min_port > settings.turn_max_port:
        raise ValueError("turn_min_port is above turn_max_port")
    host = listen_host(settings)
    lines = [
        "# Written by collabcode serve --turn on every start; changes here are overwritten.",
        "# See docs/deploy.md for the ports to open and the settings that shape this file.",
    ]
    if host not in {"0.0.0.0", "::", ""}:  # noqa: S104 - an explicit interface; otherwise all of them
        lines += [f"listening-ip={host}", f"relay-ip={host}"]
    lines += [
        f"listening-port={settings.turn_port}",
        f"min-port={settings.turn_min_port}",
        f"max-port={settings.turn_max_port}",
    ]
    if settings.turn_external_ip:
        lines.append(f"external-ip={settings.turn_external_ip}")
    lines += [
        f"realm={realm_of(settings)}",
        "use-auth-secret",
        f"static-auth-secret={secret}",
        "fingerprint",
        "stale-nonce=600",
        "user-quota=12",
        "total-quota=1200",
        "no-tls",
        "no-dtls",
        "no-cli",
        "no-multicast-peers",
        "no-software-attribute",
        "no-rfc5780",
        f"pidfile={paths.pidfile}",
        f"userdb={paths.userdb}",
        "log-file=stdout",
        "simple-log",
    ]
    denied = list(SPECIAL_PEER_RANGES)
    if not settings.turn_allow_private_peers:
        denied += PRIVATE_PEER_RANGES
    if settings.turn_allow_loopback_peers:
        lines.append("allow-loopback-peers")
    else:
        denied += LOOPBACK_PEER_RANGES
    lines += [f"denied-peer-ip={r}" for r in denied]
    return "\n".join(lines) + "\n"


def write_config(settings: Settings, secret: str) -> TurnPaths:
    """Write the config (mode 0600 in a 0700 directory: it holds the shared secret)."""
    paths = TurnPaths.of(settings.data_dir)
    paths.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(paths.directory, 0o700)
    text = render_config(settings, secret, paths)
    tmp = paths.config.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, paths.config)
    return paths


def turnserver_binary() -> str | None:
    return shutil.which("turnserver")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to stop coturn if collabcode dies without shutting down (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)


class TurnSupervisor:
    """Runs ``turnserver -c <config>``; restarts it with backoff; stops it on :meth:`stop`."""

    def __init__(self, settings: Settings, secret: str, binary: str, *, max_backoff: float = 30.0) -> None:
        self._settings = settings
        self._secret = secret
        self._binary = binary
        self._max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    async def start(self) -> None:
        paths = write_config(self._settings, self._secret)
        self._task = asyncio.create_task(self._run_forever(paths), name="turn-supervisor")

    async def _run_forever(self, paths: TurnPaths) -> None:
        loop = asyncio.get_running_loop()
        backoff = 1.0
        while not self._stopping:
            started = loop.time()
            try:
                self._process = await asyncio.create_subprocess_exec(
                    self._binary,
                    "-c",
                    str(paths.config),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                    start_new_session=True,
                )
            except OSError as exc:
                log.error("cannot start the TURN server (%s): %s", self._binary, exc.strerror)
            else:
                self.starts += 1
                log.info(
                    "TURN server started pid=%s port=%s",
                    self._process.pid,
                    self._settings.turn_port,
                    extra={"event": "dependency.up", "dependency": "turn"},
                )
                await self._pump(self._process)
                code = await self._process.wait()
                if self._stopping:
                    return
                log.warning(
                    "TURN server exited with %s; restarting in %.0f s",
                    code,
                    backoff,
                    extra={"event": "dependency.down", "dependency": "turn"},
                )
            if loop.time() - started > 60:
                backoff = 1.0
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    @staticmethod
    async def _pump(process: asyncio.subprocess.Process) -> None:
        """Forward coturn's log lines (debug level; errors at warning)."""
        assert process.stdout is not None
        while True:
            line = await process.stdout.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip()[:500]
            if "ERROR" in text or "CONFIG ERROR" in text:
                log.warning("turnserver: %s", text)
            else:
                log.debug("turnserver: %s", text)

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

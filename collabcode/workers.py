"""``collabcode serve --workers N``: N server processes sharing one listening socket.

The parent binds the port once (so a port in use fails at once, with one message) and starts N
children, each a full ``collabcode serve`` with collabcode's own graceful server, which serve the
inherited socket: the kernel hands each new connection to whichever worker accepts it first.
uvicorn's own multi-process supervisor is not used because it runs plain ``uvicorn.Server``
workers: they would neither close sockets with 1001 on shutdown nor be able to leave the UDP
STUN/TURN side to one process. Here the parent runs that once for the whole instance.

A worker that dies is restarted (after a growing pause); one that keeps dying right after start
makes the parent give up with exit 1 instead of spinning. SIGTERM or SIGINT to the parent is
forwarded as SIGTERM to every worker, each drains (1001 to its sockets, queued writes flushed)
within ``--shutdown-timeout``, and the parent exits 0 when every worker did. A second signal asks
the workers to stop at once. Workers die with the parent even if it is killed (Linux
``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collabcode.server import Background, build_server
from collabcode.settings import SETTINGS_BY_NAME, Settings

log = logging.getLogger(__name__)

#: A worker that exits sooner than this after starting counts as failing to start.
FAST_EXIT_SECONDS = 10.0
#: This many fast exits in a row and the parent stops instead of restarting forever.
MAX_FAST_EXITS = 5
#: Extra time after ``shutdown_timeout`` before a draining worker is killed.
KILL_MARGIN_SECONDS = 10.0


def multi_process_problem(settings: Settings) -> str | None:
    """Why this configuration cannot run several processes, or None when it can."""
    if settings.resolved_database_url.startswith("sqlite"):
        return (
            "--workers above 1 needs PostgreSQL (--database-url postgresql://...): "
            "a SQLite database belongs to one process"
        )
    if not settings.redis_url:
        return (
            "--workers above 1 needs Redis (--redis-url redis://...): "
            "processes share rooms, presence and events through it"
        )
    return None


def serve_args(options: Mapping[str, Any]) -> list[str]:
    """The ``serve`` flags the user gave, for the workers (the environment is inherited too)."""
    args: list[str] = []
    for name, value in options.items():
        setting = SETTINGS_BY_NAME.get(name)
        if setting is None or setting.flag is None or value is None:
            continue
        args += [setting.flag] if setting.switch else [setting.flag, str(value)]
    return args


def serve_worker(settings: Settings, fd: int) -> int:
    """Run one worker on the inherited listening socket ``fd``; the process exit code."""
    from collabcode.app import create_app

    listener = socket.socket(fileno=fd)
    server = build_server(create_app(settings), settings)
    server.run(sockets=[listener])
    return 0 if server.started else 3


def run_workers(
    settings: Settings, args: Sequence[str], count: int, listener: socket.socket, background: Sequence[Background]
) -> int:
    """Supervise ``count`` workers until SIGTERM/SIGINT; the parent's exit code."""
    return asyncio.run(WorkerPool(settings, args, count, listener, background).run())


def bind_listener(host: str, port: int) -> socket.socket:
    """The shared listening socket, inheritable by the workers. Raises OSError like a bind."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when the parent dies (None elsewhere).

    The C function is looked up here, in the parent: between fork and exec the child may only
    make the call itself.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    term = int(signal.SIGTERM)

    def hook() -> None:  # pragma: no cover - runs in the child
        prctl(1, term)  # PR_SET_PDEATHSIG

    return hook


@dataclass
class _Worker:
    index: int
    process: asyncio.subprocess.Process
    started: float


class WorkerPool:
    """Starts, restarts and stops the worker processes; ``run()`` returns the exit code."""

    def __init__(
        self,
        settings: Settings,
        serve_args: Sequence[str],
        count: int,
        listener: socket.socket,
        background: Sequence[Background] = (),
    ) -> None:
        self._settings = settings
        self._serve_args = list(serve_args)
        self._count = count
        self._listener = listener
        self._background = list(background)
        self._workers: dict[int, _Worker] = {}
        self._stopping = asyncio.Event()
        self._signals = 0
        self._fast_exits = 0
        self._failed = False
        self._preexec = _die_with_parent_hook()

    def _command(self) -> list[str]:
        fd = str(self._listener.fileno())
        return [sys.executable, "-m", "collabcode", "serve", *self._serve_args, "--worker-fd", fd]

    async def _spawn(self, index: int) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            *self._command(),
            pass_fds=(self._listener.fileno(),),
            start_new_session=True,  # a terminal's Ctrl-C reaches the parent, which forwards it
            preexec_fn=self._preexec,
        )
        log.info("worker %d started (pid %d)", index, process.pid, extra={"worker": index, "pid": process.pid})
        worker = _Worker(index, process, time.monotonic())
        self._workers[index] = worker
        return worker

    async def _watch(self, index: int) -> None:
        """Keep worker ``index`` running until the pool stops."""
        worker = await self._spawn(index)
        while True:
            code = await worker.process.wait()
            if self._stopping.is_set():
                return
            lived = time.monotonic() - worker.started
            self._fast_exits = self._fast_exits + 1 if lived < FAST_EXIT_SECONDS else 0
            if self._fast_exits >= MAX_FAST_EXITS:
                log.error("workers keep exiting right after start (last code %s); stopping", code)
                self._failed = True
                self.stop()
                return
            pause = min(0.5 * 2 ** max(self._fast_exits - 1, 0), 10.0)
            log.warning(
                "worker %d (pid %d) exited with code %s; restarting in %.1f s",
                index,
                worker.process.pid,
                code,
                pause,
                extra={"worker": index, "pid": worker.process.pid, "exit_code": code},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            if self._stopping.is_set():
                return
            worker = await self._spawn(index)

    def stop(self) -> None:
        """Begin the drain: no new connections here, SIGTERM to every worker."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._listener.close()
        self._send(signal.SIGTERM)

    def _on_signal(self) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("stopping %d workers (draining up to %.0f s)", len(self._workers), self._settings.shutdown_timeout)
            self.stop()
        else:
            log.warning("second signal: asking workers to stop at once")
            self._send(signal.SIGINT)

    def _send(self, sig: signal.Signals) -> None:
        for worker in self._workers.values():
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(sig)

    async def _drain(self) -> int:
        """Wait for every worker to exit; kill those past the deadline. 0 when all exited cleanly."""
        deadline = self._settings.shutdown_timeout + KILL_MARGIN_SECONDS
        processes = [w.process for w in self._workers.values()]
        waits = [asyncio.ensure_future(p.wait()) for p in processes]
        _, pending = await asyncio.wait(waits, timeout=deadline)
        if pending:
            log.error("%d workers did not stop within %.0f s; killing them", len(pending), deadline)
            for process in processes:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            await asyncio.wait(waits)
        codes = {w.index: w.process.returncode for w in self._workers.values()}
        unclean = {index: code for index, code in codes.items() if code != 0}
        if unclean:
            log.warning("workers exited uncleanly: %s", unclean)
        return 1 if unclean or pending else 0

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal)
        watchers = [asyncio.create_task(self._watch(i), name=f"worker-{i}") for i in range(self._count)]
        started: list[Background] = []
        try:
            for item in self._background:
                await item.start()
                started.append(item)
            await self._stopping.wait()
            await asyncio.gather(*watchers)
            code = await self._drain()
        except BaseException:
            self.stop()
            for watcher in watchers:
                watcher.cancel()
            await self._drain()
            raise
        finally:
            for item in reversed(started):
                try:
                    await item.stop()
                except Exception:
                    log.exception("stopping a background service failed")
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return 1 if self._failed else code

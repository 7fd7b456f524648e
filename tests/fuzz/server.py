"""The real app under uvicorn in a background thread with its own event loop.

Fuzzers (schemathesis, hypothesis) drive many short examples from synchronous test code; running
the server, and any socket clients, on a loop of their own lets every example be a plain call
(:meth:`ThreadedApp.run`) with no event-loop juggling between pytest-asyncio and the fuzzer.
The app is one ``create_app`` on SQLite in a temporary directory, lifespan and all.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette

from collabcode.app import create_app
from collabcode.clock import Clock
from collabcode.services import Services
from collabcode.settings import Settings
from tests.services import free_port

T = TypeVar("T")


class ErrorLog(logging.Handler):
    """Records logged with a traceback (WARNING and up): something failed that nothing expected.

    Handlers catch what they expect and answer it; a traceback in the log means a handler or a
    socket task crashed (a 1011 close, a 500), even when the client saw nothing wrong.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is not None:
            self.records.append(record)

    def clear(self) -> None:
        self.records.clear()

    def crashes(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()} ({r.exc_info[1]!r})" for r in self.records if r.exc_info]


class ThreadedApp:
    """``create_app(settings)`` served on a free loopback port from a daemon thread."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Clock | None = None,
        configure: Callable[[Starlette], None] | None = None,
        **settings: Any,
    ) -> None:
        self.port = free_port()
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "host": "127.0.0.1",
            "port": self.port,
            "log_format": "json",
            "bcrypt_rounds": 4,
            "shutdown_timeout": 3.0,
        }
        values.update(settings)
        self.settings = Settings(**values)
        self.app = create_app(self.settings, clock=clock)
        if configure is not None:
            configure(self.app)
        self.url = f"http://127.0.0.1:{self.port}"
        self.errors = ErrorLog()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzz-server", daemon=True)
        self._stack = AsyncExitStack()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> ThreadedApp:
        self._thread.start()
        self.run(self._start())
        logging.getLogger().addHandler(self.errors)
        return self

    async def _start(self) -> None:
        await self._stack.enter_async_context(self.app.router.lifespan_context(self.app))
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, lifespan="off", log_config=None, ws="websockets-sansio"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        started = time.monotonic()
        while not self._server.started:
            if self._task.done() or time.monotonic() - started > 15:
                raise RuntimeError("the fuzz server did not start")
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        try:
            self.run(self._stop(), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    async def _stop(self) -> None:
        await self.services.connections.close_all(1001, "going_away")
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 15)
        await self._stack.aclose()

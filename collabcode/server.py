"""Run the app under uvicorn with collabcode's own graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from types import FrameType
from typing import Protocol

import uvicorn
from starlette.applications import Starlette

from collabcode.settings import Settings
from collabcode.web.connection_guard import ConnectionGuard, protocol_classes

log = logging.getLogger(__name__)


class Background(Protocol):
    """Something that runs beside the web server (the STUN/TURN side of calls)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class GracefulServer(uvicorn.Server):
    """On SIGTERM/SIGINT: stop accepting, close our sockets with 1001, then uvicorn's drain."""

    def __init__(self, config: uvicorn.Config, app: Starlette, background: Sequence[Background] = ()) -> None:
        super().__init__(config)
        self._app = app
        self._background = list(background)
        self._background_started: list[Background] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            for item in self._background:
                await item.start()
                self._background_started.append(item)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn re-raises the signal after draining; a drained server exits 0 instead, which
        # is what process supervisors read as a clean stop.
        super().handle_exit(sig, frame)
        self._captured_signals.clear()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        services = getattr(self._app.state, "services", None)
        if services is not None:
            try:
                closed = await asyncio.wait_for(services.connections.close_all(1001, "going_away"), 5.0)
                if closed:
                    log.info("closed %s open sockets with 1001", closed)
            except TimeoutError:
                log.warning("closing sockets took too long; continuing shutdown")
        await super().shutdown(sockets)
        for item in reversed(self._background_started):
            try:
                await item.stop()
            except Exception:
                log.exception("stopping a background service failed")
        self._background_started.clear()


def build_server(app: Starlette, settings: Settings, background: Sequence[Background] = ()) -> GracefulServer:
    guard = ConnectionGuard(
        settings.request_header_timeout,
        settings.max_connections_per_ip,
        settings.trusted_proxies,
        body_timeout=settings.request_body_timeout,
    )
    http_protocol, ws_protocol = protocol_classes(guard)
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None:
        metrics.add_stats("collabcode_connections", guard.stats, "Connection limits of this process")
    config = uvicorn.Config(
        app,
        http=http_protocol,  # uvicorn's httptools protocol with the Slowloris deadline and per-IP cap
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=True,
        proxy_headers=False,  # forwarded headers are handled by collabcode, from trusted proxies only
        ws=ws_protocol,  # uvicorn's websockets-sansio protocol, releasing the per-IP count
        ws_max_size=16 * 1024 * 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=int(settings.shutdown_timeout) or 1,
        h11_max_incomplete_event_size=64 * 1024,
    )
    return GracefulServer(config, app, background)

"""pycrdt-websocket served by uvicorn: a peer server for collab_bench.py.

Usage: python benchmarks/servers/pycrdt_ws.py --host 127.0.0.1 --port 8123

The room is the request path, as in pycrdt-websocket's own examples. uvicorn runs on uvloop with
the same WebSocket implementation and options collabcode uses, so the comparison is about rooms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer, exception_logger


async def main(host: str, port: int) -> None:
    # exception_logger, as deployments do: without it a client that disconnects while the room
    # is sending to it ends the whole server.
    async with WebsocketServer(auto_clean_rooms=True, exception_handler=exception_logger) as websocket_server:
        app = ASGIServer(websocket_server)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            ws_max_size=16 * 1024 * 1024,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
        )
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # uvicorn[standard] brings uvloop; plain asyncio still works
        loop_factory = None
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main(args.host, args.port))

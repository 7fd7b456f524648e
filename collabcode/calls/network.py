"""The UDP side of calls that ``collabcode serve`` runs next to the web server: STUN and TURN.

Started after the web server is listening and stopped after it drained (``collabcode.server``).
In-process test apps never start it, so parallel tests do not fight over port 3478. When the
managed coturn listens on the STUN port, coturn answers STUN itself and the built-in server stays
off.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import TYPE_CHECKING

from collabcode.calls.ice import builtin_stun_enabled, managed_turn
from collabcode.calls.turn import TurnSupervisor, listen_host, turnserver_binary
from collabcode.clock import Clock
from collabcode.settings import ConfigError, Settings

if TYPE_CHECKING:
    from collabcode.calls.stun import StunServer

log = logging.getLogger(__name__)


def check_rtc_settings(settings: Settings) -> None:
    """Settings that only make sense together; a :class:`ConfigError` names what to fix."""
    if settings.turn_min_port > settings.turn_max_port:
        raise ConfigError("--turn-min-port must not be above --turn-max-port")
    if settings.turn and settings.turn_url:
        raise ConfigError("use either --turn (run coturn here) or --turn-url (an external TURN server), not both")
    if settings.turn_url and not settings.turn_secret:
        raise ConfigError("--turn-url needs the TURN server's shared secret in COLLABCODE_TURN_SECRET")
    if managed_turn(settings) and turnserver_binary() is None:
        raise ConfigError(
            "--turn needs coturn's turnserver on PATH (apt-get install coturn, or brew install coturn), "
            "or point --turn-url at an external TURN server"
        )
    if managed_turn(settings) and settings.turn_min_port <= settings.turn_port <= settings.turn_max_port:
        raise ConfigError("--turn-port must be outside the relay range --turn-min-port..--turn-max-port")


class RtcNetwork:
    """The built-in STUN server and the supervised coturn, as configured."""

    def __init__(self, settings: Settings, turn_secret: str, clock: Clock) -> None:
        self._settings = settings
        self._secret = turn_secret
        self._clock = clock
        self.stun: StunServer | None = None
        self.turn: TurnSupervisor | None = None

    async def start(self) -> None:
        settings = self._settings
        if builtin_stun_enabled(settings):
            # aioice takes a moment to import: do it off the event loop, which serves requests already.
            stun_module = await asyncio.to_thread(importlib.import_module, "collabcode.calls.stun")
            server: StunServer = stun_module.StunServer(listen_host(settings), settings.stun_port, self._clock)
            try:
                await server.start()
                self.stun = server
            except OSError as exc:
                log.warning(
                    "built-in STUN server not started: cannot listen on udp %s:%s (%s); "
                    "pass --stun-port to choose another port, or 0 to turn it off",
                    server.host,
                    server.port,
                    exc.strerror or exc,
                )
        if managed_turn(settings):
            binary = turnserver_binary()
            if binary is None:
                log.error("TURN server not started: turnserver is not installed")
            else:
                self.turn = TurnSupervisor(settings, self._secret, binary)
                await self.turn.start()

    async def stop(self) -> None:
        if self.turn is not None:
            await self.turn.stop()
            self.turn = None
        if self.stun is not None:
            await self.stun.stop()
            self.stun = None

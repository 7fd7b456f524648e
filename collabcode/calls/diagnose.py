"""``collabcode admin doctor``'s TURN check: a real allocation with a fresh REST API credential.

A TURN server that answers but refuses our credentials (wrong shared secret, clock skew beyond
the credential's lifetime) breaks calls only for people behind strict NATs, which is the hardest
failure to notice; allocating a relay address is the one check that proves the whole path.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time

from aioice import stun
from aioice.turn import create_turn_endpoint

from collabcode.calls.ice import managed_turn, turn_credential
from collabcode.calls.turn import listen_host
from collabcode.settings import Settings

_TURN_URL = re.compile(
    r"^(?P<scheme>turns?):(?P<host>\[[^\]]+\]|[^:?]+)(?::(?P<port>\d+))?(?:\?transport=(?P<tr>udp|tcp))?$"
)


def turn_target(settings: Settings) -> tuple[str, int, str, bool] | None:
    """(host, port, transport, tls) of the TURN server to test, or None when TURN is not configured."""
    if managed_turn(settings):
        host = listen_host(settings)
        if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - listening everywhere: test through loopback
            host = "127.0.0.1"
        return host, settings.turn_port, "udp", False
    for url in settings.turn_url:
        match = _TURN_URL.match(url)
        if match is None:
            continue
        tls = match["scheme"] == "turns"
        transport = match["tr"] or ("tcp" if tls else "udp")
        port = int(match["port"] or (5349 if tls else 3478))
        return match["host"].strip("[]"), port, transport, tls
    return None


async def check_turn(settings: Settings, secret: str, wait: float = 5.0) -> tuple[bool, str]:
    """Allocate a relay address on the configured TURN server; (ok, what happened)."""
    target = turn_target(settings)
    if target is None:
        return True, "not configured (pass --turn, or --turn-url with COLLABCODE_TURN_SECRET)"
    host, port, transport, tls = target
    credential = turn_credential(secret, "doctor", time.time(), 300)
    context = ssl.create_default_context() if tls else None
    try:
        relay, _ = await asyncio.wait_for(
            create_turn_endpoint(
                asyncio.DatagramProtocol,
                server_addr=(host, port),
                username=credential.username,
                password=credential.password,
                ssl=context,
                transport=transport,
            ),
            wait,
        )
    except stun.TransactionFailed as exc:
        code = exc.response.attributes.get("ERROR-CODE", (0, ""))
        if code[0] == 401:
            return False, f"{host}:{port} refused our credential (401): the shared secret does not match"
        return False, f"{host}:{port} refused the allocation: {code[0]} {code[1]}"
    except (TimeoutError, stun.TransactionTimeout):
        return False, f"{host}:{port} ({transport}) did not answer; is it running and is the port open?"
    except OSError as exc:
        return False, f"{host}:{port} ({transport}): {exc.strerror or exc}"
    try:
        relayed = relay.get_extra_info("sockname")
    finally:
        relay.close()
    return True, f"{host}:{port} ({transport}) allocated relay address {relayed[0]}:{relayed[1]}"

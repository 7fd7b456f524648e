"""Who is on the other end: client IP and scheme behind trusted proxies, and Origin checks."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import Scope

from collabcode.settings import Settings


@lru_cache(maxsize=64)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(ip: str, settings: Settings) -> bool:
    if not settings.trusted_proxies:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in _networks(settings.trusted_proxies))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def client_ip(scope: Scope, settings: Settings) -> str:
    """The peer address, or the first untrusted hop of X-Forwarded-For from a trusted proxy."""
    peer = (scope.get("client") or ("0.0.0.0", 0))[0]  # noqa: S104
    if not _trusted(peer, settings):
        return str(peer)
    forwarded = _header(scope, b"x-forwarded-for")
    if not forwarded:
        return str(peer)
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, settings):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return str(peer)
    return hops[0] if hops else str(peer)


def client_scheme(scope: Scope, settings: Settings) -> str:
    """http or https as the browser sees it (X-Forwarded-Proto only from a trusted proxy)."""
    scheme = str(scope.get("scheme", "http")).replace("ws", "http")
    peer = (scope.get("client") or ("", 0))[0]
    if _trusted(peer, settings):
        proto = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
        if proto in {"http", "https"}:
            return proto
    return scheme


def origin_allowed(origin: str, scope: Scope, settings: Settings) -> bool:
    """Exact-match allowlist: the public origin, configured extras, or this request's own host."""
    origin = origin.strip().rstrip("/")
    if origin in settings.origins:
        return True
    host = _header(scope, b"host")
    if host and settings.public_url is None and _is_literal_host(host):
        # Without a configured public URL, the server's own address as the browser typed it is
        # same-origin. Only IP literals and localhost qualify: a DNS name could be rebound.
        return origin == f"{client_scheme(scope, settings)}://{host}"
    return False


def _is_literal_host(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True

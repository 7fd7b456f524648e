"""The ICE servers a browser gets: the built-in STUN server and TURN with expiring credentials.

TURN credentials follow the TURN REST API scheme coturn's ``use-auth-secret`` checks: the
username is ``<expiry unix time>:<user id>`` and the password is
``base64(HMAC-SHA1(shared secret, username))``. They expire after ``turn_ttl`` seconds, so a
leaked one is of little use; there is never a static TURN password, and no public server is
ever suggested (the browser uses exactly this list).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from collabcode.settings import Settings

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


@dataclass(frozen=True, slots=True)
class TurnCredential:
    username: str
    password: str
    expires_at: int


def turn_credential(secret: str, user_id: str, now: float, ttl: int) -> TurnCredential:
    """A TURN REST API credential for ``user_id`` valid for ``ttl`` seconds from ``now``."""
    expires_at = int(now) + ttl
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires_at)


def url_host(host: str) -> str:
    """A host for a STUN/TURN URI (IPv6 in brackets)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def clean_host(raw: str | None) -> str | None:
    """The host part of a ``Host`` header, if it is a plain host name or IP address (else None)."""
    if not raw:
        return None
    text = raw.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        inner = text[1:end]
        try:
            return str(ipaddress.IPv6Address(inner))
        except ValueError:
            return None
    host = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    return host.lower() if _HOSTNAME.fullmatch(host) else None


def public_host(settings: Settings, request_host: str | None) -> str:
    """Where browsers reach the STUN/TURN ports: the setting, the public URL's host, or the HTTP host."""
    if settings.public_host:
        return settings.public_host
    if settings.public_url:
        hostname = urlsplit(settings.public_url).hostname
        if hostname:
            return hostname
    return clean_host(request_host) or urlsplit(settings.base_url).hostname or "127.0.0.1"


def managed_turn(settings: Settings) -> bool:
    """Whether ``collabcode serve`` runs coturn itself."""
    return settings.turn and not settings.turn_url


def builtin_stun_enabled(settings: Settings) -> bool:
    """The built-in STUN server runs unless turned off or coturn (which answers STUN) has its port."""
    if settings.stun_port == 0:
        return False
    return not (managed_turn(settings) and settings.turn_port == settings.stun_port)


def turn_urls(settings: Settings, host: str) -> list[str]:
    """TURN URLs to hand out: the external server's, or the managed coturn's (UDP and TCP)."""
    if settings.turn_url:
        return list(settings.turn_url)
    if managed_turn(settings):
        h = url_host(host)
        return [f"turn:{h}:{settings.turn_port}?transport=udp", f"turn:{h}:{settings.turn_port}?transport=tcp"]
    return []


def stun_url(settings: Settings, host: str) -> str | None:
    if builtin_stun_enabled(settings):
        return f"stun:{url_host(host)}:{settings.stun_port}"
    if managed_turn(settings):
        return f"stun:{url_host(host)}:{settings.turn_port}"
    return None


def ice_servers(
    settings: Settings, *, turn_secret: str, user_id: str, now: float, request_host: str | None
) -> dict[str, Any]:
    """The body of ``GET /api/rtc/ice-servers`` for ``user_id``."""
    host = public_host(settings, request_host)
    servers: list[dict[str, Any]] = []
    stun = stun_url(settings, host)
    if stun:
        servers.append({"urls": [stun]})
    urls = turn_urls(settings, host)
    ttl = settings.turn_ttl
    if urls and turn_secret:
        credential = turn_credential(turn_secret, user_id, now, ttl)
        servers.append({"urls": urls, "username": credential.username, "credential": credential.password})
    return {"ice_servers": servers, "ttl": ttl}

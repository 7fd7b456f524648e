"""Security log events (SECURITY.md): one structured line each, never a secret.

Every event carries ``event`` plus what is known of ``user_id``, ``session_id``, ``ip`` and
``ua_hash`` (a short hash of the User-Agent, so clients can be told apart without storing what
they sent); the request id is stamped by the logging context filter.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("collabcode.security")

# LogRecord attributes that ``extra`` may not set (logging raises KeyError on them).
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


@dataclass(frozen=True)
class ClientInfo:
    """Who sent a request, as far as the server can tell (IP behind trusted proxies only)."""

    ip: str
    user_agent: str = ""

    @property
    def ua_hash(self) -> str:
        return hashlib.sha256(self.user_agent.encode()).hexdigest()[:12] if self.user_agent else ""


def security_event(
    event: str,
    text: str,
    *,
    client: ClientInfo | None = None,
    level: int = logging.INFO,
    **fields: Any,
) -> None:
    """Log one security event; ``fields`` become JSON keys (None values are dropped)."""
    extra: dict[str, Any] = {"event": event}
    if client is not None:
        extra["ip"] = client.ip
        if client.user_agent:
            extra["ua_hash"] = client.ua_hash
    for key, value in fields.items():
        assert key not in _RESERVED, f"{key!r} is a reserved LogRecord attribute"
        if value is not None:
            extra[key] = value
    log.log(level, text, extra=extra)

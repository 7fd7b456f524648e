"""Access tokens (JWT), opaque tokens, and the keyed hashes that store them.

Access tokens are HS256 JWTs with ``exp iat sub aud iss sid jti`` and header ``typ: at+jwt``;
decoding pins the algorithm, requires every claim and checks time against the injected clock
with at most 30 s of leeway. Everything else a client holds (refresh tokens, WebSocket tickets,
mailed links, invites, the setup link) is 32 random bytes, stored only as an HMAC-SHA256 under
an instance secret, so a copy of the database cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "collabcode"
ACCESS_AUDIENCE = "collabcode:access"
ACCESS_TYPE = "at+jwt"
ACCESS_TTL_SECONDS = 600
LEEWAY_SECONDS = 30
MAX_TOKEN_CHARS = 4096
REQUIRED_CLAIMS = ("exp", "iat", "sub", "aud", "iss", "sid", "jti")

_OPAQUE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


class TokenRejected(Exception):
    """A token failed a check; ``reason`` is a short machine code for the security log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    token_id: str
    issued_at: int
    expires_at: int


def new_id() -> str:
    return uuid.uuid4().hex


def new_opaque_token() -> str:
    """32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def well_formed(token: str | None) -> bool:
    """Cheap shape check before hashing anything a client sent."""
    return token is not None and _OPAQUE.fullmatch(token) is not None


def keyed_hash(secret: str, purpose: str, token: str) -> str:
    """HMAC-SHA256 of ``purpose:token`` under ``secret``, hex: what the database stores."""
    message = f"{purpose}:{token}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def encode_access(secret: str, *, user_id: str, session_id: str, now: float, ttl: int = ACCESS_TTL_SECONDS) -> str:
    issued = int(now)
    claims = {
        "iss": ISSUER,
        "aud": ACCESS_AUDIENCE,
        "sub": user_id,
        "sid": session_id,
        "jti": new_id(),
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"typ": ACCESS_TYPE})


def decode_access(secret: str, token: str, *, now: float, leeway: int = LEEWAY_SECONDS) -> AccessClaims:
    """Verify an access token or raise :class:`TokenRejected` with the reason."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenRejected("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected("malformed") from None
    if header.get("alg") != ALGORITHM:
        raise TokenRejected("bad_algorithm")
    if header.get("typ") != ACCESS_TYPE:
        raise TokenRejected("wrong_type")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=ACCESS_AUDIENCE,
            issuer=ISSUER,
            options={
                "require": list(REQUIRED_CLAIMS),
                # Time is checked below against the injected clock.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidAlgorithmError:
        raise TokenRejected("bad_algorithm") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("bad_signature") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("wrong_audience") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("wrong_issuer") from None
    except jwt.MissingRequiredClaimError:
        raise TokenRejected("missing_claim") from None
    except jwt.PyJWTError:
        raise TokenRejected("malformed") from None
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int) or isinstance(exp, bool) or isinstance(iat, bool):
        raise TokenRejected("malformed")
    if now > exp + leeway:
        raise TokenRejected("expired")
    if iat > now + leeway:
        raise TokenRejected("not_yet_valid")
    sub, sid, jti = claims.get("sub"), claims.get("sid"), claims.get("jti")
    if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (sub, sid, jti)):
        raise TokenRejected("malformed")
    assert isinstance(sub, str) and isinstance(sid, str) and isinstance(jti, str)
    return AccessClaims(user_id=sub, session_id=sid, token_id=jti, issued_at=iat, expires_at=exp)


# -- the refresh grace window ------------------------------------------------------------------


def _pad(secret: str, predecessor: str, length: int) -> bytes:
    key = hmac.new(secret.encode(), f"grace:{predecessor}".encode(), hashlib.sha256).digest()
    out = b""
    counter = 0
    while len(out) < length:
        out += hmac.new(key, counter.to_bytes(4, "big"), hashlib.sha256).digest()
        counter += 1
    return out[:length]


def seal_successor(secret: str, predecessor: str, successor: str) -> str:
    """Encrypt the token that replaced ``predecessor`` under a key derived from it.

    Only a client that still holds the predecessor (and the server's secret) can open it: a
    second browser tab presenting the old token within the grace window gets the same new token
    instead of tripping reuse detection. Each predecessor seals exactly one successor, so the
    derived pad is used once.
    """
    data = successor.encode()
    pad = _pad(secret, predecessor, len(data))
    return bytes(a ^ b for a, b in zip(data, pad, strict=True)).hex()


def open_successor(secret: str, predecessor: str, box: str) -> str | None:
    try:
        data = bytes.fromhex(box)
        pad = _pad(secret, predecessor, len(data))
        return bytes(a ^ b for a, b in zip(data, pad, strict=True)).decode()
    except (ValueError, UnicodeDecodeError):
        return None

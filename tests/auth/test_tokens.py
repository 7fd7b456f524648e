"""Access tokens: only our HS256 tokens with every claim, right audience, in time, pass."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from collabcode.auth.tokens import (
    ACCESS_AUDIENCE,
    ACCESS_TYPE,
    ISSUER,
    TokenRejected,
    decode_access,
    encode_access,
    keyed_hash,
    open_successor,
    seal_successor,
    well_formed,
)

SECRET = "s" * 64
NOW = 1_800_000_000.0


def _claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": ACCESS_AUDIENCE,
        "sub": "u1",
        "sid": "s1",
        "jti": "j1",
        "iat": int(NOW),
        "exp": int(NOW) + 600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature)])


def _reason(token: str, now: float = NOW) -> str:
    with pytest.raises(TokenRejected) as caught:
        decode_access(SECRET, token, now=now)
    return caught.value.reason


def test_round_trip() -> None:
    token = encode_access(SECRET, user_id="u1", session_id="s1", now=NOW)
    claims = decode_access(SECRET, token, now=NOW + 10)
    assert (claims.user_id, claims.session_id) == ("u1", "s1")
    assert claims.expires_at - claims.issued_at == 600
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": ACCESS_TYPE}
    assert set(jwt.decode(token, options={"verify_signature": False})) == {
        "iss",
        "aud",
        "sub",
        "sid",
        "jti",
        "iat",
        "exp",
    }


def test_alg_none_is_rejected() -> None:
    assert _reason(_forge({"alg": "none", "typ": ACCESS_TYPE}, _claims())) == "bad_algorithm"
    assert _reason(_forge({"alg": "None", "typ": ACCESS_TYPE}, _claims())) == "bad_algorithm"


def test_other_algorithms_are_rejected_even_with_the_right_key() -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS512", headers={"typ": ACCESS_TYPE})
    assert _reason(token) == "bad_algorithm"


def test_wrong_key_and_tampering_are_rejected() -> None:
    assert _reason(jwt.encode(_claims(), "x" * 48, algorithm="HS256", headers={"typ": ACCESS_TYPE})) == "bad_signature"
    good = encode_access(SECRET, user_id="u1", session_id="s1", now=NOW)
    header, _payload, signature = good.split(".")
    evil = _b64(json.dumps(_claims(sub="admin")).encode())
    assert _reason(f"{header}.{evil}.{signature}") == "bad_signature"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "collabcode:refresh"}, "wrong_audience"),
        ({"iss": "someone-else"}, "wrong_issuer"),
        ({"sid": None}, "missing_claim"),
        ({"jti": None}, "missing_claim"),
        ({"exp": None}, "missing_claim"),
        ({"sub": 42}, "malformed"),
        ({"exp": "soon"}, "malformed"),
    ],
)
def test_claims_are_checked(changes: dict[str, object], reason: str) -> None:
    token = jwt.encode(_claims(**changes), SECRET, algorithm="HS256", headers={"typ": ACCESS_TYPE})
    assert _reason(token) == reason


def test_wrong_type_header_is_rejected() -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS256", headers={"typ": "JWT"})
    assert _reason(token) == "wrong_type"


def test_expiry_allows_at_most_30_seconds_of_leeway() -> None:
    token = encode_access(SECRET, user_id="u1", session_id="s1", now=NOW)
    decode_access(SECRET, token, now=NOW + 600 + 30)
    assert _reason(token, now=NOW + 600 + 31) == "expired"
    assert _reason(token, now=NOW - 31) == "not_yet_valid"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 5000, "eyJhbGciOiJIUzI1NiJ9..", "\u0000.\u0000.\u0000"])
def test_garbage_is_malformed_not_an_error(token: str) -> None:
    assert _reason(token) in {"malformed", "bad_algorithm", "wrong_type"}


def test_opaque_tokens_and_keyed_hashes() -> None:
    assert well_formed("A" * 43) and not well_formed("short") and not well_formed("A" * 42 + "!")
    assert not well_formed(None)
    h = keyed_hash("k" * 40, "refresh", "tok")
    assert h == keyed_hash("k" * 40, "refresh", "tok") and len(h) == 64
    assert h != keyed_hash("k" * 40, "ticket", "tok")
    assert h != keyed_hash("j" * 40, "refresh", "tok")


def test_sealed_successor_opens_only_with_its_predecessor() -> None:
    box = seal_successor(SECRET, "old-token", "new-token-value")
    assert "new-token-value" not in box
    assert open_successor(SECRET, "old-token", box) == "new-token-value"
    assert open_successor(SECRET, "another-token", box) != "new-token-value"
    assert open_successor("t" * 48, "old-token", box) != "new-token-value"
    assert open_successor(SECRET, "old-token", "zz") is None

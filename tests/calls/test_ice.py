"""ICE servers: the built-in STUN URL, TURN REST API credentials, and which host browsers get."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from collabcode.calls.ice import builtin_stun_enabled, clean_host, ice_servers, turn_credential
from collabcode.settings import Settings
from tests.calls.harness import CallEnv

SECRET = "s" * 48


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_turn_credentials_follow_the_rest_api_scheme() -> None:
    credential = turn_credential(SECRET, "u1", now=1_000_000.7, ttl=3600)
    assert credential.username == "1003600:u1" and credential.expires_at == 1_003_600
    expected = base64.b64encode(hmac.new(SECRET.encode(), b"1003600:u1", hashlib.sha1).digest()).decode()
    assert credential.password == expected
    assert turn_credential("t" * 48, "u1", now=1_000_000, ttl=3600).password != credential.password


def test_servers_by_configuration(tmp_path: Path) -> None:
    def body(**values: object) -> dict[str, object]:
        return ice_servers(settings(tmp_path, **values), turn_secret=SECRET, user_id="u1", now=100.0, request_host=None)

    plain = body(public_url="https://code.example.com")
    assert plain == {"ice_servers": [{"urls": ["stun:code.example.com:3478"]}], "ttl": 3600}
    assert body(stun_port=0, public_url="https://code.example.com")["ice_servers"] == []
    assert body(public_host="198.51.100.7", stun_port=3479)["ice_servers"] == [{"urls": ["stun:198.51.100.7:3479"]}]
    assert body(public_host="2001:db8::1")["ice_servers"] == [{"urls": ["stun:[2001:db8::1]:3478"]}]

    managed = body(public_host="turn.example.com", turn=True, turn_ttl=600)
    servers = managed["ice_servers"]
    assert isinstance(servers, list)
    assert servers[0] == {"urls": ["stun:turn.example.com:3478"]}  # coturn answers STUN on its port
    assert servers[1]["urls"] == [
        "turn:turn.example.com:3478?transport=udp",
        "turn:turn.example.com:3478?transport=tcp",
    ]
    assert servers[1]["username"] == "700:u1" and managed["ttl"] == 600
    assert not builtin_stun_enabled(settings(tmp_path, turn=True))
    assert builtin_stun_enabled(settings(tmp_path, turn=True, turn_port=5349))

    external = body(public_host="x.example.com", turn_url=("turns:relay.example.net:443?transport=tcp",))
    assert external["ice_servers"] == [
        {"urls": ["stun:x.example.com:3478"]},
        {
            "urls": ["turns:relay.example.net:443?transport=tcp"],
            "username": "3700:u1",
            "credential": servers_password("3700:u1"),
        },
    ]


def servers_password(username: str) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()).decode()


def test_request_host_is_cleaned() -> None:
    assert clean_host("code.example.com:8000") == "code.example.com"
    assert clean_host("[::1]:8000") == "::1"
    assert clean_host("10.0.0.5") == "10.0.0.5"
    for hostile in ("a b", "evil.com/x", "x" * 300, "[::1", "a..b", "", None, "ex ample:80", "<script>"):
        assert clean_host(hostile) is None


async def test_ice_servers_endpoint(env: CallEnv) -> None:
    alice = await env.person("alice")
    await env.call(None, "GET", "/api/rtc/ice-servers", expect=401)
    response = await env.call(alice, "GET", "/api/rtc/ice-servers", expect=200)
    assert response.headers["cache-control"] == "no-store"
    # No public URL and no TURN: the STUN server at the host the browser used, and nothing else.
    assert response.json() == {"ice_servers": [{"urls": ["stun:127.0.0.1:3478"]}], "ttl": 3600}
    spoofed = await env.call(alice, "GET", "/api/rtc/ice-servers", headers={"host": "bad host"}, expect=200)
    assert spoofed.json()["ice_servers"] == [{"urls": ["stun:127.0.0.1:3478"]}]


async def test_credentials_expire_with_the_clock(tmp_path: Path) -> None:
    from collabcode.clock import FakeClock
    from collabcode.db import migrate, open_database
    from tests.calls.harness import call_env

    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await db.connect()
    await migrate(db)
    clock = FakeClock(start=2_000_000_000.0)
    try:
        async with call_env(db, tmp_path / "data", clock=clock, turn=True, turn_ttl=900) as env:
            alice = await env.person("alice")
            body = (await env.call(alice, "GET", "/api/rtc/ice-servers", expect=200)).json()
            turn = body["ice_servers"][1]
            expiry, user = turn["username"].split(":")
            assert int(expiry) == 2_000_000_900 and user == alice.id
            secret = env.services.secrets.turn_secret
            assert len(secret) >= 32 and secret not in str(body)
            digest = hmac.new(secret.encode(), turn["username"].encode(), hashlib.sha1).digest()
            assert turn["credential"] == base64.b64encode(digest).decode()
    finally:
        await db.close()

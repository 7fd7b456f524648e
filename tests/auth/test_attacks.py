"""Every account-related attack class in SECURITY.md, tried: each gets the contract's status code
and changes nothing."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import jwt
import pytest

from collabcode.auth.tokens import ACCESS_AUDIENCE, ACCESS_TYPE, ISSUER
from tests.auth.conftest import PASSWORD, AuthHarness, bearer

EVIL = "https://evil.example"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(auth: AuthHarness, token: str, **changes: object) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    return claims


def _events(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


async def test_forged_and_invalid_access_tokens_are_401(auth: AuthHarness, caplog: pytest.LogCaptureFixture) -> None:
    await auth.create_user()
    good = await auth.login(auth.http)
    secret = auth.services.secrets.jwt_secret
    claims = _claims(auth, good)
    admin_claims = {**claims, "sub": "someone-else"}
    forged = {
        "alg_none": ".".join(
            [_b64(json.dumps({"alg": "none", "typ": ACCESS_TYPE}).encode()), _b64(json.dumps(claims).encode()), ""]
        ),
        "hs512": jwt.encode(claims, secret + "x" * 16, algorithm="HS512", headers={"typ": ACCESS_TYPE}),
        "wrong_key": jwt.encode(claims, "k" * 64, algorithm="HS256", headers={"typ": ACCESS_TYPE}),
        "tampered_sub": good.split(".")[0] + "." + _b64(json.dumps(admin_claims).encode()) + "." + good.split(".")[2],
        "wrong_audience": jwt.encode(
            {**claims, "aud": "collabcode:refresh"}, secret, algorithm="HS256", headers={"typ": ACCESS_TYPE}
        ),
        "wrong_issuer": jwt.encode({**claims, "iss": "evil"}, secret, algorithm="HS256", headers={"typ": ACCESS_TYPE}),
        "no_sid": jwt.encode(
            {k: v for k, v in claims.items() if k != "sid"}, secret, algorithm="HS256", headers={"typ": ACCESS_TYPE}
        ),
        "unknown_sid": jwt.encode({**claims, "sid": "f" * 32}, secret, algorithm="HS256", headers={"typ": ACCESS_TYPE}),
    }
    assert (claims["aud"], claims["iss"]) == (ACCESS_AUDIENCE, ISSUER)
    caplog.set_level(logging.INFO)
    for name, token in forged.items():
        r = await auth.http.get("/api/me", headers=bearer(token))
        assert r.status_code == 401, name
        assert r.json()["error"]["code"] == "unauthorized" and r.headers["www-authenticate"].startswith("Bearer")
    reasons = {getattr(r, "reason", None) for r in _events(caplog, "auth.token_rejected")}
    assert {
        "bad_algorithm",
        "bad_signature",
        "wrong_audience",
        "wrong_issuer",
        "missing_claim",
        "session_unknown",
    } <= reasons
    for header in ("Basic YWxpY2U6cGFzcw==", "Bearer", "Bearer " + "a" * 5000, good):
        assert (await auth.http.get("/api/me", headers={"authorization": header})).status_code == 401
    assert (await auth.http.get("/api/me", headers=bearer(good))).status_code == 200


async def test_expired_access_tokens_are_401(auth: AuthHarness) -> None:
    await auth.create_user()
    token = await auth.login(auth.http)
    auth.clock.advance(600 + 30)
    assert (await auth.http.get("/api/me", headers=bearer(token))).status_code == 200  # within leeway
    auth.clock.advance(2)
    assert (await auth.http.get("/api/me", headers=bearer(token))).status_code == 401


async def test_refresh_reuse_after_rotation_revokes_the_family(
    auth: AuthHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await auth.create_user()
    await auth.login(auth.http)
    stolen = auth.http.cookies["collabcode_refresh"]
    newest = (await auth.http.post("/api/auth/refresh")).json()["access_token"]
    auth.clock.advance(11)
    attacker = await auth.client("203.0.113.66")
    attacker.cookies.set("collabcode_refresh", stolen, domain="127.0.0.1", path="/api/auth")
    caplog.set_level(logging.INFO)
    r = await attacker.post("/api/auth/refresh")
    assert r.status_code == 401
    assert _events(caplog, "auth.refresh_reuse_detected")
    assert (await auth.http.post("/api/auth/refresh")).status_code == 401  # the victim's newest token too
    assert (await auth.http.get("/api/me", headers=bearer(newest))).status_code == 401


async def test_two_tabs_racing_within_the_window_stay_signed_in(auth: AuthHarness) -> None:
    await auth.create_user()
    await auth.login(auth.http)
    shared = auth.http.cookies["collabcode_refresh"]
    tab_two = await auth.client()
    tab_two.cookies.set("collabcode_refresh", shared, domain="127.0.0.1", path="/api/auth")
    one = await auth.http.post("/api/auth/refresh")
    auth.clock.advance(5)
    two = await tab_two.post("/api/auth/refresh")
    assert one.status_code == two.status_code == 200
    assert auth.http.cookies["collabcode_refresh"] == tab_two.cookies["collabcode_refresh"]
    assert (await auth.http.post("/api/auth/refresh")).status_code == 200
    assert (await auth.http.get("/api/me", headers=bearer(two.json()["access_token"]))).status_code == 200


async def test_cross_site_requests_are_refused_and_change_nothing(auth: AuthHarness) -> None:
    await auth.create_user()
    token = await auth.login(auth.http)
    cookie = auth.http.cookies["collabcode_refresh"]
    attempts: list[tuple[str, dict[str, object] | None]] = [
        ("/api/auth/login", {"login": "alice", "password": PASSWORD}),
        ("/api/auth/refresh", None),
        ("/api/auth/logout", None),
        ("/api/auth/sessions/revoke-others", None),
        ("/api/auth/password/change", {"current_password": PASSWORD, "new_password": "attacker chosen 1"}),
    ]
    for headers in ({"origin": EVIL}, {"sec-fetch-site": "cross-site"}, {"origin": "null"}):
        for path, body in attempts:
            r = await auth.http.post(path, json=body, headers={**headers, **bearer(token)})
            assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed", path
    assert auth.http.cookies["collabcode_refresh"] == cookie
    assert (await auth.http.get("/api/me", headers=bearer(token))).status_code == 200
    same_site = await auth.http.post("/api/auth/refresh", headers={"origin": "http://127.0.0.1:8000"})
    assert same_site.status_code == 200


async def test_form_posts_are_refused(auth: AuthHarness) -> None:
    await auth.create_user()
    r = await auth.http.post(
        "/api/auth/login", content=b"login=alice&password=x", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415
    await auth.login(auth.http)
    r = await auth.http.post(
        "/api/auth/refresh", content=b"a=b", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 415


@pytest.mark.parametrize(
    "body",
    [{"role": "admin"}, {"id": "0" * 32}, {"email_verified": True}, {"email": "x@example.com"}, {"disabled": False}],
)
async def test_mass_assignment_on_me_is_422(auth: AuthHarness, body: dict[str, object]) -> None:
    user = await auth.create_user(verified=False)
    token = await auth.login(auth.http)
    r = await auth.http.patch("/api/me", json={"display_name": "New", **body}, headers=bearer(token))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == next(iter(body))
    after = await auth.service.get_user(user.id)
    assert (after.role, after.email_verified, after.display_name, after.id) == ("member", False, "Alice", user.id)


async def test_mass_assignment_on_signup_and_admin_update_is_422(auth: AuthHarness) -> None:
    r = await auth.http.post(
        "/api/auth/signup",
        json={"email": "m@example.com", "username": "mal", "password": PASSWORD, "display_name": "M", "role": "admin"},
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "role"
    assert await auth.service.list_users() == []
    await auth.create_user("admin", role="admin")
    target = await auth.create_user("bob")
    token = await auth.login(auth.http, "admin")
    for body in ({"email": "x@example.com"}, {"email_verified": True}, {"role": "root"}, {"disabled": "yes"}):
        r = await auth.http.patch(f"/api/admin/users/{target.id}", json=body, headers=bearer(token))
        assert r.status_code == 422, body
    after = await auth.service.get_user(target.id)
    assert (after.email, after.role, after.disabled) == ("bob@example.com", "member", False)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("a" * 73, "password_too_long"),
        ("ü" * 40, "password_too_long"),
        ("nul\x00byte-pass", "password_forbidden_character"),
    ],
)
async def test_bad_new_passwords_are_422_everywhere(auth: AuthHarness, password: str, rule: str) -> None:
    r = await auth.http.post(
        "/api/auth/signup",
        json={"email": "x@example.com", "username": "xyz", "password": password, "display_name": "X"},
    )
    assert r.status_code == 422 and r.json()["error"]["details"] == {"field": "password", "rule": rule}
    await auth.create_user()
    token = await auth.login(auth.http)
    r = await auth.http.post(
        "/api/auth/password/change",
        json={"current_password": PASSWORD, "new_password": password},
        headers=bearer(token),
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["rule"] == rule
    r = await auth.http.post("/api/auth/password/reset", json={"token": "t" * 43, "password": password})
    assert r.status_code == 422 and r.json()["error"]["details"]["rule"] == rule
    await auth.login(auth.http)  # the old password still works: nothing changed


@pytest.mark.parametrize("password", ["a" * 73, "a" * 4000, "x\x00y", PASSWORD + "\x00"])
async def test_unusable_login_passwords_are_401_never_500(auth: AuthHarness, password: str) -> None:
    await auth.create_user(password="a" * 72)
    r = await auth.http.post("/api/auth/login", json={"login": "alice", "password": password})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"


async def test_invalid_unicode_in_credentials_is_422(auth: AuthHarness) -> None:
    body = json.dumps({"login": "alice", "password": "\ud800" * 10})  # a lone surrogate, as a JSON escape
    r = await auth.http.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422


async def test_oversized_deep_and_malformed_bodies(auth: AuthHarness) -> None:
    big = b'{"login": "' + b"a" * (auth.services.settings.max_body_bytes + 1) + b'"}'
    r = await auth.http.post("/api/auth/login", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    deep = '{"email": ' + "[" * 200 + "]" * 200 + "}"
    r = await auth.http.post("/api/auth/signup", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_too_deep"
    r = await auth.http.post("/api/auth/login", content=b'{"login": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = await auth.http.post("/api/auth/login", json={"login": 12345678, "password": PASSWORD})
    assert r.status_code == 422
    r = await auth.http.post("/api/auth/login", json=["alice", PASSWORD])
    assert r.status_code == 422
    r = await auth.http.post("/api/auth/signup", json={"email": "a@b.co", "username": "abc", "display_name": "x" * 300})
    assert r.status_code == 422
    assert await auth.service.list_users() == []


async def test_hostile_path_parameters_are_404(auth: AuthHarness) -> None:
    await auth.create_user("admin", role="admin")
    token = await auth.login(auth.http, "admin")
    for path in ("/api/auth/sessions/..%2F..", "/api/auth/sessions/%00", "/api/auth/sessions/" + "a" * 300):
        assert (await auth.http.delete(path, headers=bearer(token))).status_code == 404
    assert (await auth.http.delete("/api/admin/invites/'or'1'='1", headers=bearer(token))).status_code == 404
    r = await auth.http.get("/api/auth/invites/" + "%27" * 100)
    assert r.status_code == 200 and r.json() == {"valid": False}


async def test_brute_force_one_account_from_one_ip(auth: AuthHarness, caplog: pytest.LogCaptureFixture) -> None:
    await auth.create_user()
    caplog.set_level(logging.INFO)
    for _ in range(5):
        r = await auth.http.post("/api/auth/login", json={"login": "alice", "password": "wrong guess"})
        assert r.status_code == 401
    sixth = await auth.http.post("/api/auth/login", json={"login": "alice", "password": "wrong guess"})
    assert sixth.status_code == 429 and sixth.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(sixth.headers["retry-after"]) <= 60
    correct = await auth.http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
    assert correct.status_code == 429
    assert _events(caplog, "auth.login_throttled") and _events(caplog, "ratelimit.hit")

    elsewhere = await auth.client("198.51.100.20")
    assert (await elsewhere.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})).status_code == 200
    auth.clock.advance(int(sixth.headers["retry-after"]))
    assert (await auth.http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})).status_code == 200


async def test_brute_force_from_many_addresses_hits_the_account_limit(auth: AuthHarness) -> None:
    await auth.create_user()
    statuses = []
    for n in range(12):
        client = await auth.client(f"198.51.100.{n + 1}")
        r = await client.post("/api/auth/login", json={"login": "alice", "password": "wrong guess"})
        statuses.append(r.status_code)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]


async def test_password_spraying_from_one_ip_hits_the_ip_limit(auth: AuthHarness) -> None:
    statuses = [
        (await auth.http.post("/api/auth/login", json={"login": f"user{n}", "password": "Summer2024!"})).status_code
        for n in range(31)
    ]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429


async def test_unknown_accounts_are_throttled_like_real_ones(auth: AuthHarness) -> None:
    statuses = [
        (await auth.http.post("/api/auth/login", json={"login": "ghost", "password": "wrong guess"})).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


async def _post_until_limited(client: httpx.AsyncClient, path: str, body: dict[str, object], **kw: object) -> int:
    for n in range(1, 60):
        payload = {k: (v.format(n=n) if isinstance(v, str) else v) for k, v in body.items()}
        r = await client.post(path, json=payload, **kw)  # type: ignore[arg-type]
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
            return n
    raise AssertionError(f"{path} was never rate limited")


async def test_signup_forgot_and_tickets_are_rate_limited(auth: AuthHarness) -> None:
    signup = {"email": "u{n}@example.com", "username": "user{n}x", "password": PASSWORD, "display_name": "U"}
    assert await _post_until_limited(auth.http, "/api/auth/signup", signup) == 11
    assert await _post_until_limited(auth.http, "/api/auth/password/forgot", {"email": "f{n}@example.com"}) == 6
    await auth.create_user("tick")
    token = await auth.login(await auth.client(), "tick")
    assert await _post_until_limited(auth.http, "/api/auth/ws-ticket", {}, headers=bearer(token)) == 31


async def test_forgot_for_one_address_is_limited_across_addresses(auth: AuthHarness) -> None:
    await auth.create_user()
    statuses = []
    for n in range(4):
        client = await auth.client(f"198.51.100.{n + 1}")
        statuses.append(
            (await client.post("/api/auth/password/forgot", json={"email": "alice@example.com"})).status_code
        )
    assert statuses == [202, 202, 202, 429]
    assert len(await auth.mail_flushed()) == 3

"""The accounts HTTP API end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from collabcode.auth.routes import routes
from tests.auth.conftest import PASSWORD, AppFactory, AuthHarness, bearer, link_token, without_request_id

ROOT = Path(__file__).resolve().parents[2]


async def test_config_and_me_shape(auth: AuthHarness) -> None:
    assert (await auth.http.get("/api/auth/config")).json() == {"registration": "open"}
    await auth.create_user()
    r = await auth.http.post("/api/auth/login", json={"login": "ALICE@example.com", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert set(body["user"]) == {
        "id",
        "username",
        "email",
        "display_name",
        "bio",
        "avatar_color",
        "role",
        "email_verified",
        "created_at",
    }
    assert r.headers["cache-control"] == "no-store"
    me = await auth.http.get("/api/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json() == body["user"]
    assert "password" not in me.text and "hash" not in me.text


async def test_dev_refresh_cookie_flags(auth: AuthHarness) -> None:
    await auth.create_user()
    r = await auth.http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("collabcode_refresh=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/api/auth" in cookie
    assert "Secure" not in cookie and "Max-Age=604800" in cookie


async def test_https_refresh_cookie_is_a_host_cookie(make_app: AppFactory) -> None:
    async with make_app(public_url="https://code.example.com") as auth:
        await auth.create_user()
        r = await auth.http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-collabcode_refresh=")
        assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=strict", "Path=/;"))
        assert "Domain" not in cookie


async def test_signup_verify_and_sign_in(auth: AuthHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    r = await auth.http.post(
        "/api/auth/signup",
        json={"email": "Zoe@Example.com", "username": "Zoe", "password": PASSWORD, "display_name": " Zoë "},
    )
    assert r.status_code == 202 and r.json() == {"status": "check_email"}
    (mail,) = await auth.mail_flushed()
    assert mail.to == "zoe@example.com"
    token = link_token(mail, "http://127.0.0.1:8000/verify-email")

    access = await auth.login(auth.http, "zoe")
    me = (await auth.http.get("/api/me", headers=bearer(access))).json()
    assert me["email_verified"] is False and me["display_name"] == "Zoë" and me["role"] == "member"

    assert (await auth.http.post("/api/auth/verify-email", json={"token": token})).status_code == 204
    assert (await auth.http.get("/api/me", headers=bearer(access))).json()["email_verified"] is True
    again = await auth.http.post("/api/auth/verify-email", json={"token": token})
    assert again.status_code == 422 and again.json()["error"]["code"] == "token_invalid"
    events = [getattr(rec, "event", None) for rec in caplog.records]
    assert "auth.signup" in events and "auth.verify_email" in events and "auth.login_ok" in events


async def test_verification_links_expire_after_48_hours(auth: AuthHarness) -> None:
    await auth.http.post(
        "/api/auth/signup",
        json={"email": "a@example.com", "username": "aa1", "password": PASSWORD, "display_name": "A"},
    )
    (mail,) = await auth.mail_flushed()
    auth.clock.advance(48 * 3600 + 1)
    r = await auth.http.post("/api/auth/verify-email", json={"token": link_token(mail, "/verify-email")})
    assert r.status_code == 422


async def test_signup_with_a_taken_email_looks_like_success_and_mails_the_owner(auth: AuthHarness) -> None:
    await auth.create_user("alice")
    fresh = await auth.http.post(
        "/api/auth/signup",
        json={"email": "new@example.com", "username": "newbie", "password": PASSWORD, "display_name": "N"},
    )
    taken = await auth.http.post(
        "/api/auth/signup",
        json={"email": "ALICE@example.com", "username": "someone", "password": PASSWORD, "display_name": "S"},
    )
    assert taken.status_code == fresh.status_code == 202
    assert without_request_id(taken.json()) == without_request_id(fresh.json())
    sent = await auth.mail_flushed()
    assert [m.to for m in sent] == ["new@example.com", "alice@example.com"]
    assert "already exists" in sent[1].text and "token=" not in sent[1].text
    assert len(await auth.service.list_users()) == 2  # alice and newbie, no third account


async def test_taken_username_is_409(auth: AuthHarness) -> None:
    await auth.create_user("alice")
    r = await auth.http.post(
        "/api/auth/signup",
        json={"email": "other@example.com", "username": "Alice", "password": PASSWORD, "display_name": "A"},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "username_taken"


async def test_invite_only_registration(make_app: AppFactory) -> None:
    async with make_app(registration="invite") as auth:
        await auth.create_user("admin", role="admin")
        admin_token = await auth.login(auth.http, "admin")
        signup = {"email": "bob@example.com", "username": "bob", "password": PASSWORD, "display_name": "Bob"}
        r = await auth.http.post("/api/auth/signup", json=signup)
        assert r.status_code == 403 and r.json()["error"]["code"] == "invite_invalid"

        created = await auth.http.post(
            "/api/admin/invites", json={"max_uses": 1, "expires_in_hours": 24}, headers=bearer(admin_token)
        )
        assert created.status_code == 201
        invite = created.json()
        assert invite["url"] == f"http://127.0.0.1:8000/signup?invite={invite['token']}"
        assert invite["status"] == "active" and invite["uses"] == 0
        assert (await auth.http.get(f"/api/auth/invites/{invite['token']}")).json() == {"valid": True}

        assert (await auth.http.post("/api/auth/signup", json={**signup, "invite": invite["token"]})).status_code == 202
        assert (await auth.http.get(f"/api/auth/invites/{invite['token']}")).json() == {"valid": False}
        second = {**signup, "email": "eve@example.com", "username": "eve", "invite": invite["token"]}
        assert (await auth.http.post("/api/auth/signup", json=second)).status_code == 403

        listed = (await auth.http.get("/api/admin/invites", headers=bearer(admin_token))).json()["invites"]
        assert [(i["id"], i["uses"], i["status"]) for i in listed] == [(invite["id"], 1, "used")]
        assert all("token" not in i for i in listed)


async def test_invites_expire_and_can_be_revoked(make_app: AppFactory) -> None:
    async with make_app(registration="invite") as auth:
        await auth.create_user("admin", role="admin")
        token = await auth.login(auth.http, "admin")
        short = (await auth.http.post("/api/admin/invites", json={"expires_in_hours": 1}, headers=bearer(token))).json()
        revoked = (await auth.http.post("/api/admin/invites", headers=bearer(token))).json()
        r = await auth.http.delete(f"/api/admin/invites/{revoked['id']}", headers=bearer(token))
        assert r.status_code == 204
        assert (await auth.http.delete(f"/api/admin/invites/{revoked['id']}", headers=bearer(token))).status_code == 404
        auth.clock.advance(3601)
        for invite in (short, revoked):
            assert (await auth.http.get(f"/api/auth/invites/{invite['token']}")).json() == {"valid": False}
        assert (await auth.http.get("/api/auth/invites/not-a-token")).json() == {"valid": False}


async def test_closed_registration(make_app: AppFactory) -> None:
    async with make_app(registration="closed") as auth:
        assert (await auth.http.get("/api/auth/config")).json() == {"registration": "closed"}
        r = await auth.http.post(
            "/api/auth/signup", json={"email": "a@b.co", "username": "abc", "password": PASSWORD, "display_name": "A"}
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "registration_closed"


async def test_refresh_rotates_the_cookie_and_logout_ends_the_session(auth: AuthHarness) -> None:
    await auth.create_user()
    access = await auth.login(auth.http)
    first_cookie = auth.http.cookies["collabcode_refresh"]
    r = await auth.http.post("/api/auth/refresh")
    assert r.status_code == 200 and set(r.json()) == {"access_token", "token_type", "expires_in", "user"}
    second_cookie = auth.http.cookies["collabcode_refresh"]
    assert second_cookie != first_cookie

    r = await auth.http.post("/api/auth/logout", headers=bearer(access))
    assert r.status_code == 204 and 'collabcode_refresh=""' in r.headers["set-cookie"]
    assert (await auth.http.get("/api/me", headers=bearer(access))).status_code == 401
    replay = await auth.client()
    replay.cookies.set("collabcode_refresh", second_cookie, domain="127.0.0.1", path="/api/auth")
    r = await replay.post("/api/auth/refresh")
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_invalid"
    assert "Max-Age=0" in r.headers["set-cookie"]
    assert (await auth.http.post("/api/auth/logout")).status_code == 204  # idempotent


async def test_refresh_without_a_cookie_is_204_signed_out(auth: AuthHarness) -> None:
    """A signed-out browser asks on every page load; that is not an error (no console noise)."""
    r = await auth.http.post("/api/auth/refresh")
    assert r.status_code == 204 and r.content == b""
    assert "access_token" not in r.text
    assert r.headers["cache-control"] == "no-store"


async def test_sessions_list_and_revoke(auth: AuthHarness) -> None:
    await auth.create_user("alice")
    await auth.create_user("bob")
    laptop, phone = auth.http, await auth.client("198.51.100.7")
    laptop_token = await auth.login(laptop)
    phone_token = await auth.login(phone)
    bob_token = await auth.login(await auth.client(), "bob")

    listed = (await laptop.get("/api/auth/sessions", headers=bearer(laptop_token))).json()["sessions"]
    assert len(listed) == 2
    assert all(set(s) == {"id", "device", "ip", "created_at", "last_seen_at", "current"} for s in listed)
    current = next(s for s in listed if s["current"])
    other = next(s for s in listed if not s["current"])
    assert other["ip"] == "198.51.100.7" and current["device"] == "Python"

    bob_sessions = (await laptop.get("/api/auth/sessions", headers=bearer(bob_token))).json()["sessions"]
    foreign = await laptop.delete(f"/api/auth/sessions/{bob_sessions[0]['id']}", headers=bearer(laptop_token))
    missing = await laptop.delete(f"/api/auth/sessions/{'0' * 32}", headers=bearer(laptop_token))
    assert foreign.status_code == missing.status_code == 404
    assert without_request_id(foreign.json()) == without_request_id(missing.json())
    assert (await laptop.get("/api/me", headers=bearer(bob_token))).status_code == 200  # unchanged

    r = await laptop.delete(f"/api/auth/sessions/{other['id']}", headers=bearer(laptop_token))
    assert r.status_code == 204
    assert (await phone.get("/api/me", headers=bearer(phone_token))).status_code == 401
    assert (await phone.post("/api/auth/refresh")).status_code == 401
    assert (await laptop.get("/api/me", headers=bearer(laptop_token))).status_code == 200


async def test_revoke_other_sessions(auth: AuthHarness) -> None:
    await auth.create_user()
    keep = await auth.login(auth.http)
    others = [await auth.login(await auth.client()) for _ in range(3)]
    r = await auth.http.post("/api/auth/sessions/revoke-others", headers=bearer(keep))
    assert r.status_code == 200 and r.json() == {"revoked": 3}
    for token in others:
        assert (await auth.http.get("/api/me", headers=bearer(token))).status_code == 401
    assert (await auth.http.get("/api/me", headers=bearer(keep))).status_code == 200


async def test_profile_update(auth: AuthHarness) -> None:
    await auth.create_user()
    token = await auth.login(auth.http)
    r = await auth.http.patch(
        "/api/me",
        json={"display_name": "Alice A.", "bio": "Hello\nworld", "avatar_color": "#0F766E"},
        headers=bearer(token),
    )
    assert r.status_code == 200
    assert (r.json()["display_name"], r.json()["bio"], r.json()["avatar_color"]) == (
        "Alice A.",
        "Hello\nworld",
        "#0f766e",
    )
    r = await auth.http.patch("/api/me", json={"bio": ""}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["bio"] == "" and r.json()["display_name"] == "Alice A."
    r = await auth.http.patch("/api/me", json={"display_name": None}, headers=bearer(token))
    assert r.status_code == 422 and r.json()["error"]["details"] == {"field": "display_name", "rule": "null"}


async def test_forgot_and_reset_password(auth: AuthHarness) -> None:
    await auth.create_user(verified=False)
    old_session = await auth.login(await auth.client())
    r = await auth.http.post("/api/auth/password/forgot", json={"email": "alice@example.com"})
    unknown = await auth.http.post("/api/auth/password/forgot", json={"email": "nobody@example.com"})
    assert r.status_code == unknown.status_code == 202
    assert without_request_id(r.json()) == without_request_id(unknown.json())
    (mail,) = await auth.mail_flushed()
    token = link_token(mail, "http://127.0.0.1:8000/reset-password")

    weak = await auth.http.post("/api/auth/password/reset", json={"token": token, "password": "password1"})
    assert weak.status_code == 422 and weak.json()["error"]["details"]["rule"] == "password_common"
    r = await auth.http.post("/api/auth/password/reset", json={"token": token, "password": "a new passphrase"})
    assert r.status_code == 204
    assert (await auth.http.get("/api/me", headers=bearer(old_session))).status_code == 401
    bad = await auth.http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
    assert bad.status_code == 401
    new_token = await auth.login(auth.http, password="a new passphrase")
    assert (await auth.http.get("/api/me", headers=bearer(new_token))).json()["email_verified"] is True
    reused = await auth.http.post("/api/auth/password/reset", json={"token": token, "password": "yet another one"})
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "token_invalid"


async def test_reset_links_expire_after_an_hour(auth: AuthHarness) -> None:
    await auth.create_user()
    await auth.http.post("/api/auth/password/forgot", json={"email": "alice@example.com"})
    (mail,) = await auth.mail_flushed()
    auth.clock.advance(3601)
    r = await auth.http.post(
        "/api/auth/password/reset", json={"token": link_token(mail, "/reset-password"), "password": "a new passphrase"}
    )
    assert r.status_code == 422


async def test_change_password(auth: AuthHarness) -> None:
    await auth.create_user()
    token = await auth.login(auth.http)
    other = await auth.login(await auth.client())
    wrong = await auth.http.post(
        "/api/auth/password/change",
        json={"current_password": "not it at all", "new_password": "a new passphrase"},
        headers=bearer(token),
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "invalid_password"
    assert (await auth.http.get("/api/me", headers=bearer(other))).status_code == 200
    r = await auth.http.post(
        "/api/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "a new passphrase"},
        headers=bearer(token),
    )
    assert r.status_code == 204
    assert (await auth.http.get("/api/me", headers=bearer(other))).status_code == 401
    assert (await auth.http.get("/api/me", headers=bearer(token))).status_code == 200


async def test_resend_verification(auth: AuthHarness) -> None:
    await auth.create_user("alice", verified=False)
    await auth.create_user("bob", verified=True)
    alice = await auth.login(auth.http, "alice")
    bob = await auth.login(await auth.client(), "bob")
    assert (await auth.http.post("/api/auth/verify-email/resend", headers=bearer(alice))).status_code == 202
    assert (await auth.http.post("/api/auth/verify-email/resend", headers=bearer(bob))).status_code == 202
    unknown = await auth.http.post("/api/auth/verify-email/resend", json={"email": "ghost@example.com"})
    known = await auth.http.post("/api/auth/verify-email/resend", json={"email": "alice@example.com"})
    assert without_request_id(unknown.json()) == without_request_id(known.json())
    assert [m.to for m in await auth.mail_flushed()] == ["alice@example.com", "alice@example.com"]
    missing = await auth.http.post("/api/auth/verify-email/resend")
    assert missing.status_code == 422


async def test_ws_ticket_needs_a_session(auth: AuthHarness) -> None:
    await auth.create_user()
    assert (await auth.http.post("/api/auth/ws-ticket")).status_code == 401
    token = await auth.login(auth.http)
    r = await auth.http.post("/api/auth/ws-ticket", headers=bearer(token))
    assert r.status_code == 200 and r.json()["expires_in"] == 30 and len(r.json()["ticket"]) == 43


async def test_admin_users(auth: AuthHarness, caplog: pytest.LogCaptureFixture) -> None:
    admin = await auth.create_user("admin", role="admin")
    alice = await auth.create_user("alice")
    for n in range(3):
        await auth.create_user(f"user{n}")
    admin_token = await auth.login(auth.http, "admin")
    alice_token = await auth.login(await auth.client(), "alice")

    caplog.set_level(logging.INFO)
    denied = await auth.http.get("/api/admin/users", headers=bearer(alice_token))
    assert denied.status_code == 403
    assert any(getattr(r, "event", None) == "authz.denied" for r in caplog.records)

    page = (await auth.http.get("/api/admin/users?limit=2", headers=bearer(admin_token))).json()
    assert len(page["users"]) == 2 and page["next_offset"] == 2
    assert "disabled" in page["users"][0] and "password_hash" not in str(page)
    found = (await auth.http.get("/api/admin/users?q=ALI", headers=bearer(admin_token))).json()["users"]
    assert [u["username"] for u in found] == ["alice"]
    assert (await auth.http.get("/api/admin/users?limit=0", headers=bearer(admin_token))).status_code == 422

    r = await auth.http.patch(f"/api/admin/users/{alice.id}", json={"role": "admin"}, headers=bearer(admin_token))
    assert r.status_code == 200 and r.json()["role"] == "admin"
    r = await auth.http.patch(f"/api/admin/users/{alice.id}", json={"disabled": True}, headers=bearer(admin_token))
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert (await auth.http.get("/api/me", headers=bearer(alice_token))).status_code == 401
    login = await auth.http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
    assert login.status_code == 403 and login.json()["error"]["code"] == "account_disabled"
    self_disable = await auth.http.patch(
        f"/api/admin/users/{admin.id}", json={"disabled": True}, headers=bearer(admin_token)
    )
    assert self_disable.status_code == 409
    last = await auth.http.patch(f"/api/admin/users/{admin.id}", json={"role": "member"}, headers=bearer(admin_token))
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_admin"
    missing = await auth.http.patch(f"/api/admin/users/{'f' * 32}", json={"role": "admin"}, headers=bearer(admin_token))
    assert missing.status_code == 404


async def test_unverified_admins_cannot_invite(auth: AuthHarness) -> None:
    await auth.create_user("admin", role="admin", verified=False)
    token = await auth.login(auth.http, "admin")
    r = await auth.http.post("/api/admin/invites", json={}, headers=bearer(token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "email_unverified"


async def test_nothing_secret_reaches_the_log(auth: AuthHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await auth.http.post(
        "/api/auth/signup",
        json={"email": "a@example.com", "username": "abc", "password": PASSWORD, "display_name": "A"},
    )
    (mail,) = await auth.mail_flushed()
    r = await auth.http.post("/api/auth/login", json={"login": "abc", "password": PASSWORD})
    access = r.json()["access_token"]
    refresh_cookie = auth.http.cookies["collabcode_refresh"]
    await auth.http.post("/api/auth/login", json={"login": "abc", "password": "wrong password!"})
    await auth.http.post("/api/auth/refresh")
    ticket = (await auth.http.post("/api/auth/ws-ticket", headers=bearer(access))).json()["ticket"]
    await auth.http.get("/api/me", headers=bearer(access + "x"))
    secrets = [PASSWORD, "wrong password!", access, refresh_cookie, ticket, link_token(mail, "/verify-email")]
    ours = [rec for rec in caplog.records if rec.name.startswith("collabcode") and rec.name != "collabcode.mail"]
    assert any(getattr(rec, "event", "") == "auth.login_failed" for rec in ours)
    logged = "\n".join(f"{rec.getMessage()} {vars(rec)}" for rec in ours)
    for secret in secrets:
        assert secret not in logged
    assert "$2b$" not in logged


def test_every_endpoint_is_documented() -> None:
    doc = (ROOT / "docs" / "api.md").read_text("utf-8")
    missing = []
    for route in routes:
        path = getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", set()) - {"HEAD"}):
            if f"`{method} {path}`" not in doc:
                missing.append(f"{method} {path}")
    assert not missing, f"undocumented in docs/api.md: {missing}"


async def test_a_database_outage_is_503_not_500(auth: AuthHarness) -> None:
    await auth.create_user()
    token = await auth.login(auth.http)
    await auth.services.db.close()
    for r in (
        await auth.http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD}),
        await auth.http.get("/api/me", headers=bearer(token)),
        await auth.http.post("/api/auth/refresh"),
    ):
        assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
        assert int(r.headers["retry-after"]) >= 1

"""Admin endpoints of the admin pages: refused to members, honest about what they can change."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from collabcode.auth.service import auth_service
from tests.chat.harness import PASSWORD, ChatEnv, Person


async def admin(env: ChatEnv) -> Person:
    person = await env.person("root")
    await auth_service(env.services).update_user(person.id, role="admin")
    return person


async def test_members_are_refused(env: ChatEnv) -> None:
    member = await env.person("member")
    for method, url, body in (
        ("GET", "/api/admin/settings", None),
        ("PATCH", "/api/admin/settings", {"registration": "open"}),
        ("GET", "/api/admin/health", None),
        ("POST", f"/api/admin/users/{member.id}/reset-link", None),
        ("PATCH", f"/api/admin/users/{member.id}", {"verified": True}),
    ):
        response = await env.call(member, method, url, json=body, expect=403)
        assert response.json()["error"]["code"] == "forbidden"
        await env.call(None, method, url, json=body, expect=401)


async def test_settings_are_shown_without_secrets_and_are_read_only(env: ChatEnv) -> None:
    root = await admin(env)
    body = (await env.call(root, "GET", "/api/admin/settings", expect=200)).json()
    settings = body["settings"]
    assert settings["registration"] == {
        "editable": False,
        "source": "default",
        "flag": "--registration",
        "env": ["COLLABCODE_REGISTRATION"],
        "help": settings["registration"]["help"],
        "value": "invite",
    }
    assert settings["ai_api_key"]["value"] is None and settings["ai_api_key"]["is_set"] is False
    assert "turn" in settings and "stun_port" in settings
    assert body["changes_need_restart"] is True and isinstance(body["ai_enabled"], bool)
    refused = await env.call(root, "PATCH", "/api/admin/settings", json={"registration": "open"}, expect=409)
    error = refused.json()["error"]
    assert error["code"] == "setting_read_only" and error["details"]["field"] == "registration"
    assert "--registration" in error["message"]
    await env.call(root, "PATCH", "/api/admin/settings", json={"registration": "wide open"}, expect=422)
    await env.call(root, "PATCH", "/api/admin/settings", json={"jwt_secret": "x" * 40}, expect=422)
    assert (await env.call(root, "PATCH", "/api/admin/settings", json={}, expect=200)).json() == body


async def test_health_uses_the_doctor_checks(env: ChatEnv) -> None:
    root = await admin(env)
    body = (await env.call(root, "GET", "/api/admin/health", expect=200)).json()
    names = [check["name"] for check in body["checks"]]
    assert names[:4] == ["configuration", "data directory", "database", "broker"]
    database = next(c for c in body["checks"] if c["name"] == "database")
    assert database["ok"] is True and "schema version" in database["detail"]
    assert body["process"]["open_sockets"] == {"events": 0, "collab": 0}
    assert body["process"]["broker"]["kind"] in ("memory", "redis")
    assert body["versions"]["collabcode"]
    assert not [value for value in env.services.secrets.values() if value and value in str(body)]


async def test_reset_link_and_verify(env: ChatEnv) -> None:
    root = await admin(env)
    bob = await env.person("bob", verified=False)
    link = (await env.call(root, "POST", f"/api/admin/users/{bob.id}/reset-link", expect=200)).json()
    assert link["expires_in"] == 3600 and "/reset-password?token=" in link["url"]
    token = parse_qs(urlsplit(link["url"]).query)["token"][0]
    new_password = "an entirely new passphrase"
    await env.call(
        None, "POST", "/api/auth/password/reset", json={"token": token, "password": new_password}, expect=204
    )
    await env.call(None, "POST", "/api/auth/login", json={"login": "bob", "password": PASSWORD}, expect=401)
    await env.call(None, "POST", "/api/auth/login", json={"login": "bob", "password": new_password}, expect=200)
    await env.call(root, "POST", f"/api/admin/users/{'0' * 32}/reset-link", expect=404)

    carol = await env.person("carol", verified=False)
    updated = await env.call(root, "PATCH", f"/api/admin/users/{carol.id}", json={"verified": True}, expect=200)
    assert updated.json()["email_verified"] is True
    await env.call(root, "PATCH", f"/api/admin/users/{carol.id}", json={"verified": False}, expect=422)

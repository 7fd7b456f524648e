"""What a browser is given, checked without one: HTML with no inline script or event handler, a
script policy without 'unsafe-inline'/'unsafe-eval', and a refresh cookie a page script cannot read
(the access token is kept in memory only, so no cookie may carry it)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from collabcode.app import create_app
from collabcode.auth.service import auth_service
from collabcode.settings import Settings
from collabcode.web import static
from tests.conftest import TEST_ORIGIN

PASSWORD = "correct horse battery"
HTML_ACCEPT = {"accept": "text/html,application/xhtml+xml"}
# Every kind of client-side route, with made-up ids, and a path no route knows (the 404 shell).
PAGES = [
    re.sub(r"\{[a-z_]+_id\}", "0123456789abcdef0123456789abcdef", route).replace("{username}", "alice")
    for route in static.APP_ROUTES
] + ["/definitely/not/a/page"]
UNSAFE_SCRIPT_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:")


URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href"})


def is_javascript_url(value: str) -> bool:
    """Browsers ignore whitespace and control characters inside the scheme: ``java<TAB>script:``."""
    return re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith("javascript:")


class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, handlers, js: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.external_scripts: list[str] = []
        self._in_script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event handler attribute")
            if value and name in URL_ATTRIBUTES and is_javascript_url(value):
                self.problems.append(f"<{tag} {name}={value!r}> javascript: URL")
        if tag == "script":
            src = dict(attrs).get("src")
            if src:
                self.external_scripts.append(src)
            self._in_script = src or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None and data.strip():
            self.problems.append(f"inline <script> content: {data.strip()[:80]!r}")


def inline_code(html: str) -> InlineCode:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser


def directives(csp: str) -> dict[str, list[str]]:
    """A CSP header as {directive: sources}."""
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def refresh_cookie(response: httpx.Response) -> SimpleCookie:
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    jar = SimpleCookie()
    jar.load(headers[0])
    return jar


@asynccontextmanager
async def app_client(settings: Settings, base_url: str = TEST_ORIGIN) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in process, with a first admin (``alice``) created through the setup link."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        link = await auth_service(app.state.services).create_setup_link()
        assert link is not None
        token = link.rsplit("token=", 1)[1]
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            setup = {
                "token": token,
                "email": "alice@example.test",
                "username": "alice",
                "password": PASSWORD,
                "display_name": "Alice",
            }
            answer = await http.post("/api/auth/setup", json=setup)
            assert answer.status_code == 201, answer.text
            http.cookies.clear()
            yield http


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, bcrypt_rounds=4)


def test_the_built_html_files_have_no_inline_code() -> None:
    pages = sorted(static.static_root().glob("*.html"))
    assert pages, "the frontend is not built into collabcode/static"
    for page in pages:
        found = inline_code(page.read_text("utf-8"))
        assert found.problems == [], (page.name, found.problems)
        assert found.external_scripts, f"{page.name} loads no script at all: is this the app shell?"
        assert all(src.startswith("/static/") for src in found.external_scripts), found.external_scripts


async def test_every_served_page_has_no_inline_code_and_a_strict_script_policy(client: httpx.AsyncClient) -> None:
    for path in PAGES:
        answer = await client.get(path, headers=HTML_ACCEPT)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), path
        assert inline_code(answer.text).problems == [], path
        policy = directives(answer.headers["content-security-policy"])
        script_src = policy.get("script-src", policy.get("default-src"))
        assert script_src == ["'self'"], (path, script_src)
        for directive in ("script-src-elem", "script-src-attr", "default-src"):
            assert not set(policy.get(directive, [])) & set(UNSAFE_SCRIPT_SOURCES), (path, directive)
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]


async def test_the_page_shown_without_a_built_frontend_has_no_inline_code(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(static, "static_root", lambda: tmp_path)
    answer = await client.get("/", headers=HTML_ACCEPT)
    assert answer.status_code == 200
    assert "has not been built" in answer.text
    assert inline_code(answer.text).problems == []
    assert "'unsafe-inline'" not in directives(answer.headers["content-security-policy"])["script-src"]


def test_the_checker_finds_what_it_looks_for() -> None:
    """The parser is the whole check: it must see each kind of inline code."""
    hostile = (
        "<script>alert(1)</script><script src=/static/a.js></script><img src=x onerror=alert(1)>"
        '<a href=" JaVa\tScript:alert(1)">x</a><body ONLOAD="x()">'
    )
    problems = inline_code(hostile).problems
    assert len(problems) == 4, problems
    assert inline_code("<script src=/static/a.js></script><a href=/x>x</a>").problems == []


async def test_refresh_cookie_on_plain_http_is_httponly_strict_and_scoped_to_auth(fast_settings: Settings) -> None:
    assert not fast_settings.secure_cookies  # the rule: Secure exactly when the public URL is https
    async with app_client(fast_settings) as http:
        login = await http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
        assert login.status_code == 200, login.text
        access = login.json()["access_token"]
        cookie = refresh_cookie(login)["collabcode_refresh"]
        assert cookie["httponly"] is True
        assert cookie["secure"] == ""
        assert cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/api/auth"
        assert cookie["domain"] == ""
        assert int(cookie["max-age"]) > 0
        assert access not in cookie.value and cookie.value not in access

        refreshed = await http.post("/api/auth/refresh", headers={"origin": TEST_ORIGIN})
        assert refreshed.status_code == 200, refreshed.text
        rotated = refresh_cookie(refreshed)["collabcode_refresh"]
        assert (rotated["httponly"], rotated["samesite"].lower(), rotated["path"]) == (True, "strict", "/api/auth")
        assert rotated.value != cookie.value
        assert refreshed.json()["access_token"] not in refreshed.headers["set-cookie"]

        out = await http.post("/api/auth/logout", headers={"origin": TEST_ORIGIN})
        assert out.status_code == 204
        cleared = refresh_cookie(out)["collabcode_refresh"]
        assert cleared.value == "" and cleared["path"] == "/api/auth"


async def test_refresh_cookie_on_https_is_a_secure_host_cookie(fast_settings: Settings) -> None:
    origin = "https://code.example.test"
    settings = dataclasses.replace(fast_settings, public_url=origin)
    assert settings.secure_cookies
    async with app_client(settings, base_url=origin) as http:
        login = await http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
        assert login.status_code == 200, login.text
        # __Host- cookies must be Secure, Path=/ and have no Domain: browsers enforce it, too.
        cookie = refresh_cookie(login)["__Host-collabcode_refresh"]
        assert cookie["secure"] is True and cookie["httponly"] is True
        assert cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/" and cookie["domain"] == ""
        assert login.json()["access_token"] not in login.headers["set-cookie"]
        assert login.headers["strict-transport-security"].startswith("max-age=")

        refreshed = await http.post("/api/auth/refresh", headers={"origin": origin})
        assert refreshed.status_code == 200, refreshed.text
        rotated = refresh_cookie(refreshed)["__Host-collabcode_refresh"]
        assert (rotated["secure"], rotated["httponly"], rotated["path"]) == (True, True, "/")
        assert refreshed.json()["access_token"] not in refreshed.headers["set-cookie"]


async def test_no_other_answer_sets_a_cookie(fast_settings: Settings) -> None:
    """Only sign-in answers set a cookie: pages, config and the API leave the browser's jar alone."""
    async with app_client(fast_settings) as http:
        login = await http.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
        bearer = {"authorization": "Bearer " + login.json()["access_token"]}
        for path in ("/", "/signin", "/healthz", "/api/auth/config", "/api/me", "/api/workspaces", "/api/dashboard"):
            answer = await http.get(path, headers={**HTML_ACCEPT, **bearer} if not path.startswith("/api") else bearer)
            assert answer.status_code == 200, (path, answer.text)
            assert "set-cookie" not in answer.headers, path

"""Dashboard, profiles, admin pages and the command palette in real browsers: a followed person's
presence and open file on the dashboard (and going offline when their tab closes), opening a file
with the palette in three keystrokes, profile actions and avatar upload, admin pages, and
screenshots of each in light and dark."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server
from tests.fixtures_browser import PageProblems, make_team, poll

pytestmark = pytest.mark.browser

PASSWORDS = {"alice": "correct horse battery", "bob": "battery staple horse", "carol": "staple horse correct"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
OFFLINE_WITHIN_S = 30.0


def png_bytes(size: int = 8) -> bytes:
    """A valid RGB PNG: a diagonal teal-to-indigo gradient with a light disc in the middle."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    def pixel(x: int, y: int) -> bytes:
        t = (x + y) / (2 * size)
        if (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2:
            return bytes((240, 244, 255))
        return bytes((int(20 + 60 * t), int(150 - 90 * t), int(140 + 80 * t)))

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(size)) for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    """Alice (admin) and Bob share "api-server"; Alice alone has "web-client"; Carol shares nothing.
    Alice follows Bob; Bob and Alice have a conversation with an unread message for Alice."""
    server = start_server(tmp_path / "data", env={"COLLABCODE_BCRYPT_ROUNDS": "4"})
    try:
        ids: dict[str, Any] = {}
        names = {"alice": "Alice Archer", "bob": "Bob Baker", "carol": "Carol Chen"}
        team = make_team(server, {name: (PASSWORDS[name], display) for name, display in names.items()})
        alice, bob, carol = team["alice"], team["bob"], team["carol"]
        with httpx.Client(base_url=server.url, timeout=10) as api:
            assert (
                api.patch("/api/me", json={"bio": "Backend developer. Tea over coffee."}, headers=bob).status_code
                == 200
            )
            picture = {**bob, "content-type": "image/png"}
            assert api.put("/api/me/avatar", content=png_bytes(96), headers=picture).status_code == 200
            wid = api.post("/api/workspaces", json={"name": "api-server"}, headers=alice).json()["id"]
            files = {}
            for path, text in (
                ("app.py", "print('hello from the api')\n"),
                ("src/models/user.py", "class User:\n    pass\n"),
                ("README.md", "# api-server\n"),
            ):
                answer = api.post(
                    f"/api/workspaces/{wid}/files", json={"path": path, "kind": "file", "content": text}, headers=alice
                )
                assert answer.status_code == 201
                files[path] = answer.json()["id"]
            assert api.post(
                f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "editor"}, headers=alice
            ).status_code in (200, 201)
            other = api.post("/api/workspaces", json={"name": "web-client"}, headers=alice).json()["id"]
            main_ts = api.post(
                f"/api/workspaces/{other}/files",
                json={"path": "src/main.ts", "kind": "file", "content": "export const answer = 42;\n"},
                headers=alice,
            ).json()["id"]
            assert api.post("/api/users/bob/follow", headers=alice).status_code == 200
            conversation = api.post("/api/conversations", json={"username": "alice"}, headers=bob).json()["id"]
            message = {"body": "Can you review the user model?", "client_id": "seed-1"}
            assert api.post(f"/api/conversations/{conversation}/messages", json=message, headers=bob).status_code == 201
            ids.update(
                wid=wid,
                files=files,
                other=other,
                main_ts=main_ts,
                conversation=conversation,
                headers={"alice": alice, "bob": bob, "carol": carol},
            )
        yield server, ids
    finally:
        server.stop()


def open_as(
    browser: Any, server: LiveServer, user: str, path: str, problems: PageProblems, scheme: str = "light"
) -> Any:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 860})
    answer = context.request.post(
        server.url + "/api/auth/login",
        data={"login": user, "password": PASSWORDS[user]},
        headers={"origin": server.url},
    )
    assert answer.status == 200
    page = context.new_page()
    problems.attach(page)
    page.goto(server.url + path)
    try:
        poll(page, "document.documentElement.dataset.eventsState === 'open'", timeout=20)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; page errors: {problems.page_errors + problems.console_errors}") from None
    return page


FOLLOWED_BOB = "document.querySelector('[data-following][data-username=bob]')"


def bob_on_dashboard(page: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None = page.evaluate(
        f"""() => {{
            const row = {FOLLOWED_BOB};
            if (!row) return null;
            const activity = row.querySelector('[data-activity]');
            return {{ presence: row.dataset.presence, activity: activity ? activity.textContent : '' }};
        }}"""
    )
    return result


def assert_clean(problems: PageProblems, expected_404s: int = 0) -> None:
    """No CSP violations, page errors or console errors, except the 404s a test asked for."""
    assert problems.csp_violations == [], problems.csp_violations
    assert problems.page_errors == [], problems.page_errors
    not_found = [e for e in problems.console_errors if "status of 404" in e]
    assert len(not_found) == expected_404s, problems.console_errors
    others = [e for e in problems.console_errors if "status of 404" not in e]
    assert others == [], others


def test_dashboard_shows_followed_presence_and_file_then_offline(
    seeded: tuple[LiveServer, dict[str, Any]], browser: Any
) -> None:
    server, ids = seeded
    problems = PageProblems()
    alice = open_as(browser, server, "alice", "/", problems)
    alice.locator("[data-view=dashboard][data-dashboard-state=ready]").wait_for(timeout=15_000)
    assert alice.locator("[data-home-link]").inner_text() == "Dashboard"
    # Bob is followed but not around yet.
    assert (bob_on_dashboard(alice) or {}).get("presence") == "offline"
    # The seeded message is unread, and links to its conversation.
    unread = alice.locator(f"[data-unread-conversation='{ids['conversation']}'] a")
    assert unread.get_attribute("href") == f"/messages/{ids['conversation']}"
    assert "review the user model" in unread.inner_text()

    # Bob opens app.py in the shared workspace in his own browser.
    bob = open_as(browser, server, "bob", f"/w/{ids['wid']}/f/{ids['files']['app.py']}", problems, scheme="dark")
    bob.locator("[data-connection=connected]").wait_for(timeout=20_000)
    poll(alice, f"{FOLLOWED_BOB}?.dataset.presence === 'online'", timeout=20)
    poll(alice, f"({FOLLOWED_BOB}?.querySelector('[data-activity]')?.textContent ?? '').includes('app.py')", timeout=20)
    seen = bob_on_dashboard(alice)
    assert seen is not None
    assert seen["activity"] == "editing app.py in api-server"
    link = alice.locator(f"{'[data-following][data-username=bob]'} [data-activity] a")
    assert link.get_attribute("href") == f"/w/{ids['wid']}/f/{ids['files']['app.py']}"
    # The shared workspace lists Bob among the members online.
    assert alice.locator(f"[data-workspace-id='{ids['wid']}'] [data-members-online='1']").count() == 1

    # Carol follows Alice: the follow frame shows up live.
    with httpx.Client(base_url=server.url, timeout=10) as api:
        assert api.post("/api/users/alice/follow", headers=ids["headers"]["carol"]).status_code == 200
    alice.locator("[data-dashboard-live]", has_text="Carol Chen started following you.").wait_for(timeout=10_000)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SCREENSHOTS / "dashboard-light.png"), full_page=True)

    # Bob closes his tab: offline (and no file) on Alice's dashboard within 30 s.
    bob.context.close()
    closed_at = time.monotonic()
    poll(alice, f"{FOLLOWED_BOB}?.dataset.presence === 'offline'", timeout=OFFLINE_WITHIN_S)
    assert time.monotonic() - closed_at < OFFLINE_WITHIN_S
    assert (bob_on_dashboard(alice) or {}).get("activity") == ""

    # Alice opens README.md, then goes back to her dashboard: it is her recent file, and
    # "Resume" opens the workspace at that file again.
    readme = ids["files"]["README.md"]
    dark = open_as(browser, server, "alice", f"/w/{ids['wid']}/f/{readme}", problems, scheme="dark")
    dark.locator("[data-connection=connected]").wait_for(timeout=20_000)
    # The server notes an open file from its collaboration sockets every few seconds.
    deadline = time.monotonic() + 15
    with httpx.Client(base_url=server.url, timeout=10) as api:
        while time.monotonic() < deadline:
            recent = api.get("/api/dashboard", headers=ids["headers"]["alice"]).json()["recent_files"]
            if any(r["file_id"] == readme for r in recent):
                break
            time.sleep(0.25)
    dark.locator("[data-home-link]").click()
    dark.locator("[data-view=dashboard][data-dashboard-state=ready]").wait_for(timeout=15_000)
    resume = dark.locator(f"[data-recent-file='{readme}'] [data-resume]")
    resume.wait_for(timeout=15_000)
    assert resume.get_attribute("href") == f"/w/{ids['wid']}/f/{readme}"
    dark.screenshot(path=str(SCREENSHOTS / "dashboard-dark.png"), full_page=True)
    resume.click()
    poll(dark, f"location.pathname === '/w/{ids['wid']}/f/{readme}'")
    dark.locator("[data-connection=connected]").wait_for(timeout=20_000)
    assert_clean(problems)


def test_palette_opens_a_file_in_three_keystrokes(seeded: tuple[LiveServer, dict[str, Any]], browser: Any) -> None:
    server, ids = seeded
    problems = PageProblems()
    page = open_as(browser, server, "alice", "/?test=1", problems)  # test=1: the editor hook
    page.locator("[data-view=dashboard][data-dashboard-state=ready]").wait_for(timeout=15_000)

    # Keystroke 1: Ctrl+K. Keystroke 2: the query. Keystroke 3: Enter.
    page.keyboard.press("Control+k")
    page.keyboard.type("user")
    page.keyboard.press("Enter")
    wid, fid = ids["wid"], ids["files"]["src/models/user.py"]
    poll(page, f"location.pathname === '/w/{wid}/f/{fid}'", timeout=15)
    page.locator("[data-connection=connected]").wait_for(timeout=20_000)
    poll(page, "window.__collabcode?.editor?.getModel()?.getValue().includes('class User')", timeout=20)

    # Over the editor too (Monaco has Ctrl+K chords of its own), into the other workspace; the
    # dialog and combobox carry their roles, and the active option is announced.
    page.locator(".monaco-editor textarea").first.focus()
    page.keyboard.press("Control+k")
    dialog = page.get_by_role("dialog", name="Command palette")
    dialog.wait_for()
    combo = page.get_by_role("combobox")
    assert combo.get_attribute("aria-expanded") == "true"
    page.keyboard.type("main.ts")
    poll(page, "document.querySelector('[data-palette-option=file]') !== null", timeout=15)
    active = combo.get_attribute("aria-activedescendant")
    assert active
    assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    assert "src/main.ts" in page.locator(f"#{active}").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-palette-light.png"))
    page.keyboard.press("Enter")
    poll(page, f"location.pathname === '/w/{ids['other']}/f/{ids['main_ts']}'", timeout=15)
    page.locator("[data-connection=connected]").wait_for(timeout=20_000)

    # People and conversations are there as well; Escape closes and gives focus back.
    page.keyboard.press("Control+k")
    page.keyboard.type("bob")
    kinds = "[...document.querySelectorAll('[data-palette-option]')].map((o) => o.dataset.paletteOption)"
    poll(page, f"{kinds}.includes('person') && {kinds}.includes('conversation')")
    page.keyboard.press("Escape")
    poll(page, "!document.querySelector('dialog[data-palette]')?.open")
    assert_clean(problems)


def test_profile_follow_and_avatar(seeded: tuple[LiveServer, dict[str, Any]], browser: Any, tmp_path: Path) -> None:
    server, ids = seeded
    problems = PageProblems()
    page = open_as(browser, server, "alice", "/u/bob", problems)
    page.locator("[data-view=profile][data-profile-state=ready]").wait_for(timeout=15_000)
    assert page.locator("h1").inner_text() == "Bob Baker"
    assert "Tea over coffee" in page.locator("[data-profile-bio]").inner_text()
    assert page.locator(f"[data-shared-workspace='{ids['wid']}']").inner_text() == "api-server"
    assert page.locator(f"[data-shared-workspace='{ids['other']}']").count() == 0
    follow = page.locator("[data-follow-button]")
    assert follow.get_attribute("data-following") == "1"
    assert page.locator("[data-followers-count]").inner_text() == "1"
    page.locator("[data-person=alice]").wait_for()  # the followers tab lists Alice
    page.screenshot(path=str(SCREENSHOTS / "profile-light.png"), full_page=True)

    follow.click()
    poll(page, "document.querySelector('[data-follow-button]').dataset.following === '0'")
    assert page.locator("[data-followers-count]").inner_text() == "0"
    follow.click()
    poll(page, "document.querySelector('[data-follow-button]').dataset.following === '1'")

    # Message opens the conversation.
    page.locator("[data-message-button]").click()
    poll(page, f"location.pathname === '/messages/{ids['conversation']}'")

    # Carol shares no workspace with Alice: none are listed.
    page.goto(server.url + "/u/carol")
    page.locator("[data-view=profile][data-profile-state=ready]").wait_for()
    assert page.locator("[data-shared-workspace]").count() == 0
    # Block (after a confirmation), which hides Follow and Message; then unblock.
    page.locator("[data-block-button]").click()
    page.locator("[data-confirm-dialog] [data-confirm]").click()
    page.get_by_text("You blocked this person.").wait_for(timeout=10_000)
    assert page.locator("[data-follow-button]").is_hidden()
    assert page.locator("[data-block-button]").inner_text() == "Unblock"
    page.locator("[data-block-button]").click()
    poll(page, "document.querySelector('[data-block-button]')?.textContent === 'Block'")
    assert page.locator("[data-follow-button]").is_visible()
    page.goto(server.url + "/u/nobody-here")
    page.locator("[data-view=profile][data-profile-state=not-found]").wait_for()

    # Avatar: an SVG is refused before upload; a PNG is previewed, uploaded and shown in the header.
    page.goto(server.url + "/settings/account")
    section = page.locator("[data-avatar-section]")
    section.wait_for()
    svg = tmp_path / "evil.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    page.locator("#avatar-file").set_input_files(str(svg))
    page.locator("#avatar-error", has_text="SVG is not accepted").wait_for()
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes() + b"\x00" * (1024 * 1024 + 1))
    page.locator("#avatar-file").set_input_files(str(big))
    page.locator("#avatar-error", has_text="the limit is 1 MiB").wait_for()
    image = tmp_path / "me.png"
    image.write_bytes(png_bytes())
    page.locator("#avatar-file").set_input_files(str(image))
    page.locator("[data-avatar-preview] img[src^='blob:']").wait_for()
    page.locator("[data-avatar-upload]").click()
    page.locator("#avatar-status", has_text="Picture saved.").wait_for(timeout=10_000)
    page.locator("[data-account-menu] img[data-avatar=image]").wait_for()
    poll(page, "document.querySelector('[data-account-menu] img[data-avatar=image]').naturalWidth > 0")
    page.reload()  # the picture is known after a reload too
    poll(page, "document.querySelector('[data-account-menu] img[data-avatar=image]')?.naturalWidth > 0")
    page.locator("[data-avatar-remove]").click()
    page.locator("#avatar-status", has_text="initials").wait_for(timeout=10_000)
    assert page.locator("[data-account-menu] img[data-avatar=image]").count() == 0

    # Phone number and privacy: saved as a hint only; a switch round-trips; the number goes again.
    page.locator("#privacy-phone").fill("+44 20 7946 0958")
    page.locator("#privacy-read_receipts").uncheck()
    page.locator("#privacy-submit").click()
    page.locator("#privacy-status", has_text="Privacy settings saved.").wait_for(timeout=10_000)
    hint = page.locator("[data-phone-hint]").get_attribute("data-phone-hint") or ""
    assert hint.startswith("+44") and "7946" not in hint
    assert not page.locator("#privacy-read_receipts").is_checked()
    page.locator("[data-remove-phone]").click()
    page.locator("#privacy-status", has_text="Phone number removed.").wait_for(timeout=10_000)
    assert page.locator("[data-phone-hint]").get_attribute("data-phone-hint") == ""

    dark = open_as(browser, server, "bob", "/u/alice", problems, scheme="dark")
    dark.locator("[data-view=profile][data-profile-state=ready]").wait_for(timeout=15_000)
    dark.screenshot(path=str(SCREENSHOTS / "profile-dark.png"), full_page=True)
    assert_clean(problems, expected_404s=1)  # the profile that does not exist


def test_admin_pages(seeded: tuple[LiveServer, dict[str, Any]], browser: Any) -> None:
    server, _ids = seeded
    problems = PageProblems()
    page = open_as(browser, server, "alice", "/", problems)
    page.locator("[data-admin-only]:not([hidden]) a[href='/admin']").click()
    page.locator("[data-view=admin][data-admin-section=users]").wait_for()
    page.locator("[data-admin-user=bob]").wait_for(timeout=15_000)
    page.locator("#admin-user-search").fill("car")
    poll(page, "document.querySelector('[data-admin-user=carol]') && !document.querySelector('[data-admin-user=bob]')")
    page.locator("[data-admin-user=carol] [data-reset-link]").click()
    copy = page.locator("[data-admin-user=carol] [data-copy-value]")
    copy.wait_for(timeout=10_000)
    assert "/reset-password" in (copy.input_value() or "")
    page.locator("#admin-user-search").fill("")
    page.locator("[data-admin-user=bob]").wait_for()
    page.locator("#admin-user-search").blur()
    page.screenshot(path=str(SCREENSHOTS / "admin-users-light.png"), full_page=True)

    page.locator("a[href='/admin/invites']").click()
    page.locator("[data-admin-panel=invites]").wait_for()
    page.locator("#invite-create").click()
    invite_link = page.locator("[data-admin-panel=invites] [data-copy-value]")
    invite_link.wait_for(timeout=10_000)
    assert "/signup?invite=" in (invite_link.input_value() or "")
    active = page.locator("[data-invite-status=active]")
    poll(page, "document.querySelectorAll('[data-invite-status=active]').length >= 2")
    before = active.count()
    active.first.locator("[data-revoke-invite]").click()
    poll(page, f"document.querySelectorAll('[data-invite-status=active]').length === {before - 1}")
    page.screenshot(path=str(SCREENSHOTS / "admin-invites-light.png"), full_page=True)

    # Settings come from the server's configuration: shown, with how to change them, read-only.
    page.locator("a[href='/admin/settings']").click()
    page.locator("[data-admin-panel=settings] [data-read-only-settings]").wait_for(timeout=10_000)
    assert page.locator("[data-setting=registration] code").first.inner_text() == "invite"
    assert page.locator("[data-admin-panel=settings] select, [data-admin-panel=settings] input").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "admin-settings-light.png"), full_page=True)
    page.locator("a[href='/admin/health']").click()
    page.locator("[data-admin-panel=health] [data-health-summary]").wait_for(timeout=15_000)
    assert page.locator("[data-check]").count() >= 2
    page.screenshot(path=str(SCREENSHOTS / "admin-health-light.png"), full_page=True)

    dark = open_as(browser, server, "alice", "/admin/users", problems, scheme="dark")
    dark.locator("[data-admin-user=bob]").wait_for(timeout=15_000)
    dark.screenshot(path=str(SCREENSHOTS / "admin-users-dark.png"), full_page=True)

    # A member sees no Admin link, and the page explains instead of showing data.
    member = open_as(browser, server, "bob", "/admin", problems)
    member.locator("[data-admin-denied]").wait_for()
    assert member.locator("[data-admin-only]").is_hidden()
    assert_clean(problems)

"""Calls in two headless Chromium browsers with fake camera, microphone and screen: ring,
answer with the keyboard, media flows both ways over loopback, device switching, minimising,
screen share swaps the video track and back, hang-up returns both to idle; a declined call from
the conversation header, a cancelled (missed) call, both calling at once, hang-up by closing the
tab, the device check, and clear errors when the browser refuses the camera and microphone.

WebRTC traffic must stay on loopback, and Chromium also gathers candidates on every other
interface. So the browser test runs in a fresh network namespace that has only ``lo``, with
its own server on SQLite: the outer test re-runs this file inside ``unshare --net``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server
from tests.fixtures_browser import CHROMIUM_FLAGS, PageProblems
from tests.fixtures_browser import poll as browser_poll
from tests.services import require

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORDS = {"alice": "correct horse battery", "bob": "battery staple horse"}
# Loopback host candidates are off by default in Chromium; in a namespace with only `lo` there
# would be no candidate at all. Audio from the remote <video> may play without a gesture.
CALL_FLAGS = [*CHROMIUM_FLAGS, "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"]


def loopback_only() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def netns_available() -> bool:
    unshare = shutil.which("unshare")
    if not unshare or not shutil.which("ip"):
        return False
    probe = subprocess.run(
        [unshare, "--net", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=10, check=False
    )
    return probe.returncode == 0


def test_calls_in_a_loopback_only_network() -> None:
    """Run the browser call test below inside ``unshare --net`` (only ``lo``), and require it to pass."""
    if loopback_only():
        pytest.skip("this process already sees only loopback: the browser test runs directly")
    require(netns_available(), "a loopback-only network namespace (unshare --net, as root)")
    inner = f"{Path(__file__).relative_to(ROOT)}::test_call_between_two_browsers"
    script = 'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider "$1"'
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c", script, sys.executable, inner],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout[-8000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert re.search(r"\b1 passed\b", result.stdout), output


def poll(page: Any, js: str, timeout: float = 20.0) -> Any:
    """Calls take longer to settle than the shared default allows."""
    return browser_poll(page, js, timeout, interval=0.1)


def phase(page: Any) -> str:
    return str(page.evaluate("document.querySelector('[data-call-ui]')?.dataset.callPhase ?? ''"))


def wait_phase(page: Any, expected: str, timeout: float = 20.0) -> None:
    try:
        poll(page, f"document.querySelector('[data-call-ui]')?.dataset.callPhase === {json.dumps(expected)}", timeout)
    except AssertionError:
        raise AssertionError(f"call phase is not {expected!r}: {call_state(page)}") from None


def call_state(page: Any) -> Any:
    return page.evaluate(
        "(() => { const s = window.__collabcodeCalls?.state ?? {};"
        " return {phase: s.phase, error: s.error, ended: s.ended, notice: s.notice, call: s.call?.state,"
        " people: s.call?.participants.map((p) => `${p.username}:${p.state}`)}; })()"
    )


REMOTE_FRAMES = """(() => {
  const video = document.querySelector('[data-remote-video]');
  return video ? video.getVideoPlaybackQuality().totalVideoFrames : -1;
})()"""

# The o= line carries the session version, which every renegotiation increments.
SDP_ORIGIN = """(() => {
  const link = [...window.__collabcodeCalls.links.values()][0];
  return link.pc.localDescription.sdp.split('\\r\\n').find((line) => line.startsWith('o='));
})()"""

# What the peer connections are doing, for failure messages.
LINKS = """(() => [...(window.__collabcodeCalls?.links.values() ?? [])].map((link) => ({
  remote: link.remoteId, polite: link.polite, signaling: link.pc.signalingState,
  ice: link.pc.iceConnectionState, gathering: link.pc.iceGatheringState, connection: link.pc.connectionState,
  tracks: link.remoteStream.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted ? 'muted' : 'live'}`),
  pending: link.pendingCandidates.length,
  local: (link.pc.localDescription?.sdp.match(/a=candidate:[^\\r]*/g) ?? []).join(' | '),
})))()"""

SENT_VIDEO_LABEL = """(() => {
  const link = [...window.__collabcodeCalls.links.values()][0];
  return link?.senders.video?.track?.label ?? '';
})()"""


def create_user(data_dir: Path, username: str, display_name: str, *, admin: bool = False) -> None:
    """An account with a verified address, made the way an operator does (only verified people can be called)."""
    flags = ["--admin"] if admin else []
    result = subprocess.run(
        [
            *(sys.executable, "-m", "collabcode", "admin", "users", "create", f"{username}@example.test"),
            *("--username", username, "--display-name", display_name, "--verified", "--password-stdin", *flags),
            *("--data-dir", str(data_dir)),
        ],
        input=PASSWORDS[username] + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLLABCODE_BCRYPT_ROUNDS": "4"},
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def call_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with Alice (admin) and Bob, who share a workspace and so may call each other."""
    data_dir = tmp_path / "data"
    create_user(data_dir, "alice", "Alice Liddell", admin=True)
    create_user(data_dir, "bob", "Bob Marley")
    server = start_server(data_dir, env={"COLLABCODE_BCRYPT_ROUNDS": "4"})
    try:
        with httpx.Client(base_url=server.url, timeout=10) as api:
            login = api.post("/api/auth/login", json={"login": "alice", "password": PASSWORDS["alice"]})
            alice = {"authorization": "Bearer " + login.json()["access_token"]}
            wid = api.post("/api/workspaces", json={"name": "Pairing"}, headers=alice).json()["id"]
            member = api.post(
                f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "editor"}, headers=alice
            )
            assert member.status_code in (200, 201)
            chat = api.post("/api/conversations", json={"username": "bob"}, headers=alice)
            assert chat.status_code in (200, 201), chat.text
            (server.data_dir / "conversation_id").write_text(chat.json()["id"])
        yield server
    finally:
        server.stop()


def open_calls_page(browser: Any, server: LiveServer, user: str, problems: PageProblems, scheme: str) -> Any:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1100, "height": 760})
    response = context.request.post(
        server.url + "/api/auth/login",
        data={"login": user, "password": PASSWORDS[user]},
        headers={"origin": server.url},
    )
    assert response.status == 200
    page = context.new_page()
    problems.attach(page)
    page.on("console", lambda message: print(f"{user} console {message.type}: {message.text}"))
    page.goto(server.url + "/calls?test=1")
    page.locator("h1", has_text="Calls").wait_for()
    poll(page, "document.documentElement.dataset.eventsState === 'open'")
    # The calls code loads when the browser is idle after sign-in.
    poll(page, "Boolean(window.__collabcodeCalls && document.querySelector('[data-call-ui]'))")
    return page


def wait_frames(alice: Any, bob: Any, frames: int) -> None:
    """Both remote videos show more than ``frames`` frames; on failure, say what the connections do."""
    for page in (alice, bob):
        try:
            poll(page, f"{REMOTE_FRAMES} > {frames}", timeout=30)
        except AssertionError:
            states = [p.evaluate("window.__collabcodeCalls?.state.phase") for p in (alice, bob)]
            raise AssertionError(
                f"no remote video; phases {states}: {alice.evaluate(LINKS)} / {bob.evaluate(LINKS)}"
            ) from None


@pytest.fixture
def inside_netns() -> None:
    if not loopback_only():
        pytest.skip("runs inside test_calls_in_a_loopback_only_network (a network namespace with only loopback)")


@pytest.fixture
def call_browser(browser_type: Any, browser_type_launch_args: dict[str, Any]) -> Iterator[Any]:
    """Chromium with the WebRTC flags this test needs (on top of the suite's fake media devices)."""
    browser = browser_type.launch(**{**browser_type_launch_args, "args": CALL_FLAGS})
    yield browser
    browser.close()


def test_call_between_two_browsers(inside_netns: None, call_server: LiveServer, call_browser: Any) -> None:
    server = call_server
    problems = PageProblems()
    alice = open_calls_page(call_browser, server, "alice", problems, "light")
    bob = open_calls_page(call_browser, server, "bob", problems, "dark")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # Alice rings Bob with video; Bob gets the alert with the focus on "Accept".
    alice.fill("#call-username", "bob")
    alice.click("[data-start-call=video]")
    wait_phase(alice, "outgoing")
    alice.locator("[data-outgoing-call]").get_by_text("Ringing…").wait_for()
    wait_phase(bob, "incoming")
    overlay = bob.locator("[role=alertdialog][data-incoming-call]")
    overlay.wait_for()
    assert "Alice Liddell" in overlay.inner_text()
    assert "Incoming video call" in overlay.inner_text()
    poll(bob, "document.activeElement?.matches('[data-call-accept]')")
    time.sleep(0.4)  # let the ring animation show
    bob.screenshot(path=str(SCREENSHOTS / "call-incoming.png"))

    # Bob answers with the keyboard; media flows both ways.
    bob.keyboard.press("Enter")
    wait_phase(bob, "active")
    wait_phase(alice, "active")
    wait_frames(alice, bob, 10)
    alice.locator("[data-call-announcer]").get_by_text("Bob Marley joined the call.").wait_for(state="attached")
    for page in (alice, bob):
        poll(page, "document.querySelector('[data-remote-video]').videoWidth > 0")
        poll(page, "document.querySelector('[data-call-quality]').dataset.callQuality !== 'unknown'", timeout=15)
        assert re.fullmatch(r"\d+:\d\d", page.locator("[data-call-timer]").inner_text())
    # Only loopback candidates were used (the namespace has nothing else).
    pair = alice.evaluate(
        """(async () => {
        const link = [...window.__collabcodeCalls.links.values()][0];
        const stats = await link.pc.getStats();
        let pairId = '';
        stats.forEach((s) => {
          if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        });
        const pair = stats.get(pairId);
        return { local: stats.get(pair.localCandidateId).address, remote: stats.get(pair.remoteCandidateId).address };
        })()"""
    )
    assert pair == {"local": "127.0.0.1", "remote": "127.0.0.1"}, pair
    alice.screenshot(path=str(SCREENSHOTS / "call-in-call.png"))

    # Mute and camera off are toggle buttons.
    alice.click("[data-call-mic]")
    assert alice.get_attribute("[data-call-mic]", "aria-pressed") == "true"
    assert alice.evaluate("window.__collabcodeCalls.state.localStream.getAudioTracks().every((t) => !t.enabled)")
    alice.click("[data-call-mic]")
    assert alice.get_attribute("[data-call-mic]", "aria-pressed") == "false"

    # Device pickers list the (fake) devices; switching the microphone swaps the sent track.
    alice.click("[data-call-devices]")
    alice.locator("[data-device-panel]").wait_for()
    poll(alice, "document.querySelectorAll('[data-device-select=audio] option[value]:not([value=\"\"])').length > 0")
    poll(alice, "document.querySelectorAll('[data-device-select=video] option[value]:not([value=\"\"])').length > 0")
    alice.screenshot(path=str(SCREENSHOTS / "call-devices.png"))
    mics = alice.evaluate("[...document.querySelectorAll('[data-device-select=audio] option')].map((o) => o.value)")
    audio_before = alice.evaluate("window.__collabcodeCalls.state.localStream.getAudioTracks()[0].id")
    alice.select_option("[data-device-select=audio]", mics[-1])
    poll(alice, f"window.__collabcodeCalls.state.localStream.getAudioTracks()[0].id !== {json.dumps(audio_before)}")
    sent_audio = "[...window.__collabcodeCalls.links.values()][0].senders.audio.track.id"
    assert alice.evaluate(sent_audio) == alice.evaluate(
        "window.__collabcodeCalls.state.localStream.getAudioTracks()[0].id"
    )
    alice.keyboard.press("Escape")
    alice.locator("[data-device-panel]").wait_for(state="hidden")

    # Minimised, the call floats in a corner and the page under it can be used; then back.
    alice.click("[data-call-size]")
    alice.locator("[data-call-view][data-compact=true]").wait_for()
    box = alice.locator("[data-call-view]").bounding_box()
    assert box and box["width"] < 400 and box["height"] < 400, box
    poll(alice, f"{REMOTE_FRAMES} > 0")
    alice.locator("h1", has_text="Calls").click()  # not covered any more
    alice.screenshot(path=str(SCREENSHOTS / "call-minimised.png"))
    alice.click("[data-call-size]")
    alice.locator("[data-call-view][data-compact=false]").wait_for()

    # Screen share swaps the sent video track (no renegotiation), and back on stop.
    camera_label = alice.evaluate(SENT_VIDEO_LABEL)
    origin_before = alice.evaluate(SDP_ORIGIN)
    alice.click("[data-call-share]")
    poll(alice, "document.querySelector('[data-call-share]').dataset.sharing === 'true'", timeout=15)
    screen_label = alice.evaluate(SENT_VIDEO_LABEL)
    screen_audio = alice.evaluate("window.__collabcodeCalls.screenStream.getAudioTracks().length > 0")
    assert screen_label and screen_label != camera_label, (camera_label, screen_label)
    print("screen share with audio:", screen_audio)
    if screen_audio:
        # The shared audio is an extra track: it reaches Bob after one (perfect) renegotiation.
        poll(bob, "window.__collabcodeCalls.links.values().next().value.remoteStream.getAudioTracks().length === 2")
    else:
        assert alice.evaluate(SDP_ORIGIN) == origin_before, "screen share renegotiated"
    frames = int(bob.evaluate(REMOTE_FRAMES))
    poll(bob, f"{REMOTE_FRAMES} > {frames + 10}", timeout=15)
    alice.locator("[data-local-preview]").get_by_text("sharing your screen").wait_for()
    bob.screenshot(path=str(SCREENSHOTS / "call-screen-share.png"))
    alice.click("[data-call-share]")
    poll(alice, "document.querySelector('[data-call-share]').dataset.sharing === 'false'")
    assert alice.evaluate(SENT_VIDEO_LABEL) == camera_label
    if not screen_audio:
        # Only the shared tab's audio (an extra track) would need a renegotiation.
        assert alice.evaluate(SDP_ORIGIN) == origin_before, "screen share renegotiated"
    frames = int(bob.evaluate(REMOTE_FRAMES))
    poll(bob, f"{REMOTE_FRAMES} > {frames + 10}", timeout=15)

    # An ICE restart (what a network change triggers) renegotiates new credentials; media goes on.
    first = "[...window.__collabcodeCalls.links.values()][0].pc"
    ufrag = f"{first}.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]"
    ufrag_before = alice.evaluate(ufrag)
    alice.evaluate("[...window.__collabcodeCalls.links.values()][0].restartIce()")
    poll(alice, f"{ufrag} !== {json.dumps(ufrag_before)}", timeout=15)
    for page in (alice, bob):
        poll(page, f"{first}.signalingState === 'stable'")
        poll(page, f"['connected', 'completed'].includes({first}.iceConnectionState)")
    frames = int(bob.evaluate(REMOTE_FRAMES))
    poll(bob, f"{REMOTE_FRAMES} > {frames + 10}", timeout=15)

    # Hang up: both back to idle, camera and microphone released, the call in the history.
    alice.click("[data-call-hangup]")
    wait_phase(alice, "idle")
    wait_phase(bob, "idle")
    for page in (alice, bob):
        assert page.locator("[data-call-view]").count() == 0
        assert page.evaluate("window.__collabcodeCalls.state.localStream === null")
        assert page.evaluate("window.__collabcodeCalls.links.size === 0")
        page.locator("[data-call-note]").get_by_text("Call ended").wait_for()
        page.locator("[data-call-history-item]").first.wait_for()
        assert "Video" in page.locator("[data-call-history-item]").first.inner_text()

    # A declined audio call from the conversation's header: Alice is told, Bob's history shows it.
    conversation_id = (server.data_dir / "conversation_id").read_text()
    alice.goto(f"{server.url}/messages/{conversation_id}?test=1")
    poll(alice, "Boolean(window.__collabcodeCalls && document.querySelector('[data-call-ui]'))")
    alice.locator("[data-call-buttons] [data-call-button=audio]").click()
    wait_phase(bob, "incoming")
    assert "Incoming audio call" in bob.locator("[data-incoming-call]").inner_text()
    bob.click("[data-call-decline]")
    wait_phase(bob, "idle")
    wait_phase(alice, "idle")
    alice.locator("[data-call-note]").get_by_text("declined").wait_for()
    poll(bob, "document.querySelectorAll('[data-call-history-item]').length >= 2")

    # Alice gives up before Bob answers (Escape on the ringing screen): a missed call for Bob.
    alice.locator("[data-call-buttons] [data-call-button=video]").click()
    wait_phase(alice, "outgoing")
    wait_phase(bob, "incoming")
    alice.keyboard.press("Escape")
    wait_phase(alice, "idle")
    wait_phase(bob, "idle")
    bob.locator("[data-call-note]").get_by_text("Missed call from Alice Liddell").wait_for()
    bob.locator("[data-call-history-item][data-missed=true]").first.wait_for()

    # Both call each other at the same moment: the server makes it one call, and it connects.
    alice.evaluate("window.__collabcodeCalls.startCall({callee: 'bob', media: 'video'}), true")
    bob.evaluate("window.__collabcodeCalls.startCall({callee: 'alice', media: 'video'}), true")
    try:
        wait_phase(alice, "active")
        wait_phase(bob, "active")
    except AssertionError as error:
        raise AssertionError(f"{error}; Bob: {call_state(bob)}") from None
    wait_frames(alice, bob, 5)
    assert alice.evaluate("window.__collabcodeCalls.state.call.id") == bob.evaluate(
        "window.__collabcodeCalls.state.call.id"
    )

    # Closing the tab hangs up: the other side returns to idle at once.
    alice.goto("about:blank")
    wait_phase(bob, "idle")
    bob.locator("[data-call-note]").get_by_text("Call ended").wait_for()

    # The device check on the calls page: a live preview and a moving microphone level.
    bob.click("[data-check-start]")
    poll(bob, "document.querySelector('[data-check-video]').videoWidth > 0", timeout=15)
    poll(bob, "Number(document.querySelector('[data-mic-level]').dataset.micLevel) > 0", timeout=15)
    assert "work" in bob.locator("[data-check-message]").inner_text()
    poll(bob, "document.querySelectorAll('[data-call-history-item]').length >= 4")
    bob.screenshot(path=str(SCREENSHOTS / "call-history.png"), full_page=True)
    bob.click("[data-check-stop]")

    # The browser refuses the camera and microphone: a clear error, and nobody is rung.
    bob.evaluate(
        "(() => { navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('Permission denied', 'NotAllowedError')); })()"
    )
    bob.fill("#call-username", "alice")
    bob.click("[data-start-call=video]")
    note = bob.locator("[data-call-note][role=alert]")
    note.get_by_text("is blocked").wait_for()
    assert "site settings" in note.inner_text()
    wait_phase(bob, "idle")
    bob.click("[data-check-start]")
    bob.locator("[data-check-message]").get_by_text("is blocked").wait_for()
    bob.evaluate(
        "(() => { navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('Requested device not found', 'NotFoundError')); })()"
    )
    bob.click("[data-check-start]")
    bob.locator("[data-check-message]").get_by_text("No camera or microphone found").wait_for()

    assert problems.csp_violations == [], problems.csp_violations
    assert problems.page_errors == [], problems.page_errors
    assert problems.console_errors == [], problems.console_errors

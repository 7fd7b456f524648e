"""Two real WebRTC peers (aiortc) call each other through collabcode.

They sign in, start and answer the call over HTTP, signal over their own ``/ws/events`` sockets
(trickled candidates, as browsers do) and use the ICE servers ``GET /api/rtc/ice-servers`` hands
out, which point at the built-in STUN server and at coturn, both run by the same
:class:`~collabcode.calls.network.RtcNetwork` ``collabcode serve`` uses, with the generated
coturn config (loopback peers allowed: this is the test mode). A generated video track and a
data-channel message must arrive; a third person's offers and candidates for the call are
refused and never reach the peers. Host candidates are pinned to 127.0.0.1 so every packet
stays on loopback.
"""

from __future__ import annotations

import asyncio
import fractions
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioice.ice
import av
import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.sdp import candidate_from_sdp

from collabcode.calls.diagnose import check_turn
from collabcode.calls.ice import turn_credential
from collabcode.calls.network import RtcNetwork
from collabcode.calls.turn import TurnPaths
from collabcode.clock import SystemClock
from collabcode.db import open_database
from collabcode.db.migrate import migrate
from tests.calls.harness import CallEnv, EventsClient, Frame, Person, call_env, free_udp_port

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("turnserver") is None, reason="coturn's turnserver is not installed"
)

WIDTH, HEIGHT = 160, 120
U_VALUE, V_VALUE = 128, 64


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice leaves loopback out of host candidates; make it the only one."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"])


@dataclass
class Running:
    env: CallEnv
    network: RtcNetwork
    turn_port: int


async def _wait_turn(port: int, timeout: float = 10.0) -> None:
    """coturn answers STUN on its port once it is up."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        transport, protocol = await loop.create_datagram_endpoint(_Collect, remote_addr=("127.0.0.1", port))
        try:
            request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
            transport.sendto(bytes(request))
            try:
                await asyncio.wait_for(protocol.got.wait(), 0.2)
                return
            except TimeoutError:
                pass
        finally:
            transport.close()
    pytest.fail("coturn did not answer in time")


class _Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.got.set()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    db = open_database(f"sqlite:///{tmp_path / 'calls.db'}")
    await db.connect()
    await migrate(db)
    turn_port = free_udp_port()
    low = 40000 + (turn_port % 2000) * 4
    try:
        async with call_env(
            db,
            tmp_path / "data",
            public_host="127.0.0.1",
            rtc_host="127.0.0.1",
            stun_port=free_udp_port(),
            turn=True,
            turn_port=turn_port,
            turn_min_port=low,
            turn_max_port=low + 30,
            turn_allow_loopback_peers=True,
        ) as env:
            network = RtcNetwork(env.services.settings, env.services.secrets.turn_secret, SystemClock())
            await network.start()
            try:
                assert network.stun is not None and network.turn is not None
                await _wait_turn(turn_port)
                yield Running(env, network, turn_port)
            finally:
                await network.stop()
    finally:
        await db.close()


class Gradient(VideoStreamTrack):
    """A moving luma gradient with fixed chroma (U 128, V 64), so the receiver can check frames."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        luma, u, v = frame.planes
        row = bytes((x + self.n * 4) & 0xFF for x in range(luma.width)).ljust(luma.line_size, b"\0")
        luma.update(row * luma.height)
        u.update(bytes([U_VALUE]) * u.buffer_size)
        v.update(bytes([V_VALUE]) * v.buffer_size)
        self.n += 1
        frame.pts, frame.time_base = pts, time_base or fractions.Fraction(1, 90000)
        return frame


def plane_mean(frame: av.VideoFrame, index: int) -> float:
    plane = frame.reformat(format="yuv420p").planes[index]
    data = bytes(plane)
    rows = [data[r * plane.line_size : r * plane.line_size + plane.width] for r in range(plane.height)]
    return sum(sum(row) for row in rows) / (plane.width * plane.height)


def split_sdp(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """The SDP without candidates, and the candidates as a browser would trickle them."""
    kept: list[str] = []
    candidates: list[dict[str, Any]] = []
    mid: str | None = None
    index = -1
    for line in sdp.splitlines():
        if line.startswith("m="):
            index += 1
        if line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        if line.startswith("a=candidate:"):
            candidates.append({"candidate": line[2:], "sdpMid": mid, "sdpMLineIndex": index})
            continue
        if line.startswith("a=end-of-candidates"):
            continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n", candidates


@dataclass
class Peer:
    person: Person
    ws: EventsClient
    pc: RTCPeerConnection
    frames: list[av.VideoFrame] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    sent_candidates: list[dict[str, Any]] = field(default_factory=list)
    seen: int = 0

    async def signal(self, kind: str, call_id: str, to: str, **payload: Any) -> None:
        await self.ws.send({"type": kind, "call_id": call_id, "to": to, **payload})

    async def send_description(self, kind: str, call_id: str, to: str) -> None:
        sdp, candidates = split_sdp(self.pc.localDescription.sdp)
        await self.signal(kind, call_id, to, sdp=sdp)
        for candidate in candidates:
            self.sent_candidates.append(candidate)
            await self.signal("rtc.candidate", call_id, to, candidate=candidate)
        await self.signal("rtc.candidate", call_id, to, candidate=None)

    async def next_signal(self) -> Frame:
        frame = await self.ws.wait_for(lambda f: f.get("type", "").startswith("rtc."), "signaling frame")
        self.ws.frames.remove(frame)
        return frame

    async def apply(self, frame: Frame) -> None:
        if frame["type"] in ("rtc.offer", "rtc.answer"):
            kind = "offer" if frame["type"] == "rtc.offer" else "answer"
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=frame["sdp"], type=kind))
        elif frame["candidate"] is None:
            await self.pc.addIceCandidate(None)
        else:
            data = frame["candidate"]
            candidate: RTCIceCandidate = candidate_from_sdp(data["candidate"].split(":", 1)[1])
            candidate.sdpMid = data["sdpMid"]
            candidate.sdpMLineIndex = data["sdpMLineIndex"]
            await self.pc.addIceCandidate(candidate)


async def ice_config(env: CallEnv, person: Person, policy: str) -> RTCConfiguration:
    body = (await env.call(person, "GET", "/api/rtc/ice-servers", expect=200)).json()
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in body["ice_servers"]
    ]
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy(policy))


async def consume(track: MediaStreamTrack, frames: list[av.VideoFrame]) -> None:
    while True:
        try:
            frames.append(await track.recv())
        except Exception:
            return


async def run_call(env: CallEnv, policy: str) -> tuple[Peer, Peer, EventsClient, str]:
    alice, bob, eve = await env.person("alice"), await env.person("bob"), await env.person("eve")
    await env.open(alice, bob)
    await env.open(eve, bob)
    a_ws, b_ws, e_ws = await env.socket(alice), await env.socket(bob), await env.socket(eve)
    caller = Peer(alice, a_ws, RTCPeerConnection(await ice_config(env, alice, policy)))
    callee = Peer(bob, b_ws, RTCPeerConnection(await ice_config(env, bob, policy)))
    tasks: list[asyncio.Task[None]] = []
    for peer in (caller, callee):
        env.stack.push_async_callback(peer.pc.close)

    @callee.pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        tasks.append(asyncio.ensure_future(consume(track, callee.frames)))

    @callee.pc.on("datachannel")
    def on_channel(channel: Any) -> None:
        @channel.on("message")
        def on_message(message: str) -> None:
            callee.messages.append(message)
            channel.send(f"echo:{message}")

    caller.pc.addTrack(Gradient())
    channel = caller.pc.createDataChannel("chat")

    @channel.on("open")
    def on_open() -> None:
        channel.send("ping")

    @channel.on("message")
    def on_reply(message: str) -> None:
        caller.messages.append(message)

    call = await env.start(alice, bob)
    await b_ws.wait_type("call.ringing")
    await env.act(bob, call["id"], "accept")
    await a_ws.wait_for(lambda f: f.get("type") == "call.updated" and f["call"]["state"] == "active", "answered")

    # The caller offers (trickling its candidates); the callee answers the same way.
    await caller.pc.setLocalDescription(await caller.pc.createOffer())
    await caller.send_description("rtc.offer", call["id"], bob.id)

    # Meanwhile a third person tries to get into the call.
    fake_sdp = "v=0\r\no=- 9 9 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    injected = [
        {"type": "rtc.offer", "call_id": call["id"], "to": bob.id, "sdp": fake_sdp},
        {"type": "rtc.answer", "call_id": call["id"], "to": alice.id, "sdp": fake_sdp},
        {"type": "rtc.candidate", "call_id": call["id"], "to": alice.id, "candidate": caller_candidate_like()},
    ]
    for i, frame in enumerate(injected):
        await e_ws.send({**frame, "ref": f"x{i}"})
        assert (await e_ws.wait_type("error", ref=f"x{i}"))["code"] == "not_found"

    offer = await callee.next_signal()
    assert offer["type"] == "rtc.offer" and offer["from"] == alice.id
    await callee.apply(offer)
    while True:
        frame = await callee.next_signal()
        assert frame["from"] == alice.id
        await callee.apply(frame)
        if frame["type"] == "rtc.candidate" and frame["candidate"] is None:
            break
    await callee.pc.setLocalDescription(await callee.pc.createAnswer())
    await callee.send_description("rtc.answer", call["id"], alice.id)
    while True:
        frame = await caller.next_signal()
        assert frame["from"] == bob.id
        await caller.apply(frame)
        if frame["type"] == "rtc.candidate" and frame["candidate"] is None:
            break

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if len(callee.frames) >= 10 and "echo:ping" in caller.messages:
            break
        await asyncio.sleep(0.05)
    assert caller.pc.connectionState == "connected" and callee.pc.connectionState == "connected"
    return caller, callee, e_ws, call["id"]


def caller_candidate_like() -> dict[str, Any]:
    return {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}


async def check_media(env: CallEnv, caller: Peer, callee: Peer, call_id: str) -> None:
    assert callee.messages == ["ping"] and caller.messages == ["echo:ping"]
    assert len(callee.frames) >= 10
    for frame in callee.frames[-3:]:
        assert (frame.width, frame.height) == (WIDTH, HEIGHT)
        assert abs(plane_mean(frame, 1) - U_VALUE) < 6 and abs(plane_mean(frame, 2) - V_VALUE) < 6  # survived VP8
    # Nobody but the two of them signaled: every relayed frame came from the other participant.
    for peer, other in ((caller, callee), (callee, caller)):
        assert all(f.get("from") == other.person.id for f in peer.ws.frames if f.get("type", "").startswith("rtc."))
    await env.act(caller.person, call_id, "end")
    await callee.ws.wait_type("call.ended")
    await caller.pc.close()
    await callee.pc.close()


async def test_two_peers_connect_with_stun_and_exchange_media(running: Running) -> None:
    env = running.env
    caller, callee, _eve, call_id = await run_call(env, "all")
    kinds = {c["candidate"].split()[7] for c in caller.sent_candidates}
    assert {"host", "srflx", "relay"} <= kinds, kinds  # srflx: the built-in STUN server answered
    await check_media(env, caller, callee, call_id)


async def test_two_peers_connect_through_coturn_relay_only(running: Running) -> None:
    env = running.env
    caller, callee, _eve, call_id = await run_call(env, "relay")
    relay_ports = range(env.services.settings.turn_min_port, env.services.settings.turn_max_port + 1)
    for peer in (caller, callee):
        assert peer.sent_candidates and all(" typ relay" in c["candidate"] for c in peer.sent_candidates)
        assert all(int(c["candidate"].split()[5]) in relay_ports for c in peer.sent_candidates)
    await check_media(env, caller, callee, call_id)


async def test_coturn_config_is_hardened_and_expired_credentials_are_refused(running: Running) -> None:
    env = running.env
    settings = env.services.settings
    paths = TurnPaths.of(settings.data_dir)
    text = paths.config.read_text()
    assert paths.config.stat().st_mode & 0o077 == 0
    for line in ("use-auth-secret", "no-cli", "fingerprint", "no-multicast-peers", "allow-loopback-peers"):
        assert f"\n{line}\n" in text
    assert "denied-peer-ip=10.0.0.0-10.255.255.255" in text and f"pidfile={paths.pidfile}" in text
    assert "denied-peer-ip=127.0.0.0-127.255.255.255" not in text  # only because this is the test mode

    secret = env.services.secrets.turn_secret
    server = ("127.0.0.1", running.turn_port)
    good = turn_credential(secret, "carol", time.time(), 60)
    relay, _ = await create_turn_endpoint(asyncio.DatagramProtocol, server, good.username, good.password)
    try:
        assert relay.get_extra_info("sockname")[1] in range(settings.turn_min_port, settings.turn_max_port + 1)
    finally:
        relay.close()
    expired = turn_credential(secret, "carol", time.time() - 120, 60)
    forged = turn_credential("not-the-secret-" * 3, "carol", time.time(), 60)
    for credential in (expired, forged):
        with pytest.raises(stun.TransactionFailed) as refused:
            await create_turn_endpoint(asyncio.DatagramProtocol, server, credential.username, credential.password)
        assert refused.value.response.attributes["ERROR-CODE"][0] == 401

    ok, detail = await check_turn(settings, secret)
    assert ok, detail
    assert "allocated relay address" in detail
    wrong_ok, wrong = await check_turn(settings, "x" * 48)
    assert not wrong_ok and "401" in wrong

    # Supervision: a crashed coturn is started again.
    supervisor = running.network.turn
    assert supervisor is not None and supervisor.pid is not None
    first = supervisor.pid
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (supervisor.pid in (None, first) or supervisor.starts < 2):
        await asyncio.sleep(0.05)
    assert supervisor.starts == 2 and supervisor.pid not in (None, first)
    await _wait_turn(running.turn_port)


async def test_production_coturn_config_refuses_loopback_and_private_peers(tmp_path: Path) -> None:
    """Without the test switch, the relay cannot be pointed at the host or the LAN."""
    from collabcode.settings import Settings

    port = free_udp_port()
    low = 40000 + (port % 2000) * 4 + 2
    settings = Settings(
        data_dir=tmp_path / "data",
        rtc_host="127.0.0.1",
        turn=True,
        stun_port=0,
        turn_port=port,
        turn_min_port=low,
        turn_max_port=low + 10,
    )
    secret = "p" * 48
    network = RtcNetwork(settings, secret, SystemClock())
    await network.start()
    try:
        await _wait_turn(port)
        credential = turn_credential(secret, "mallory", time.time(), 60)
        relay, _ = await create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", port), credential.username, credential.password
        )
        try:
            inner = relay._TurnTransport__inner_protocol  # type: ignore[attr-defined]
            for peer in (("127.0.0.1", 9), ("10.1.2.3", 9), ("192.168.1.20", 9), ("172.16.0.1", 9), ("169.254.1.1", 9)):
                with pytest.raises(stun.TransactionFailed) as refused:
                    await inner.send_data(b"x", peer)
                assert refused.value.response.attributes["ERROR-CODE"][0] == 403, peer
        finally:
            relay.close()
    finally:
        await network.stop()

"""The hub between two "processes" (two buses on one broker): frames reach a user's sockets
wherever they are, exactly once, and durable frames reach them in cursor order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collabcode.clock import FakeClock
from collabcode.db import Database
from collabcode.pubsub import Bus
from collabcode.realtime.hub import EventsHub
from collabcode.realtime.presence import MemoryPresence, Presence
from tests.fixtures_bus import eventually


@dataclass(eq=False)
class FakeSocket:
    user_id: str
    socket_id: str
    frames: list[dict[str, Any]] = field(default_factory=list)

    def deliver(self, text: str, frame: dict[str, Any]) -> None:
        self.frames.append(frame)


def _hub(bus: Bus, db: Database) -> EventsHub:
    return EventsHub(bus=bus, db=db, presence=Presence(MemoryPresence(), db, FakeClock()))


async def test_frames_reach_every_socket_of_the_user_once(bus_pair: tuple[Bus, Bus], db: Database) -> None:
    one, two = _hub(bus_pair[0], db), _hub(bus_pair[1], db)
    here, there, other = FakeSocket("alice", "s1"), FakeSocket("alice", "s2"), FakeSocket("bob", "s3")
    for hub, sock in ((one, here), (two, there), (two, other)):
        await hub.attach(sock)
    await one.send_to_user("alice", {"type": "ping"})
    await one.send_to_users(["alice", "bob", "alice"], {"type": "hey"})
    await eventually(lambda: len(there.frames) == 2 and len(other.frames) == 1, 5, "delivered on the other process")
    assert [f["type"] for f in here.frames] == ["ping", "hey"]
    assert [f["type"] for f in there.frames] == ["ping", "hey"]
    assert [f["type"] for f in other.frames] == ["hey"]
    await two.detach(there)
    await two.detach(other)
    assert two.local_count("alice") == 0


async def test_instead_replaces_the_frame_for_one_local_socket(bus_pair: tuple[Bus, Bus], db: Database) -> None:
    one = _hub(bus_pair[0], db)
    origin, other_tab = FakeSocket("alice", "origin"), FakeSocket("alice", "tab")
    await one.attach(origin)
    await one.attach(other_tab)
    await one.send_to_user(
        "alice", {"type": "message", "cursor": 1}, instead={"origin": {"type": "message.sent", "cursor": 1}}
    )
    assert origin.frames == [{"type": "message.sent", "cursor": 1}]
    assert other_tab.frames == [{"type": "message", "cursor": 1}]

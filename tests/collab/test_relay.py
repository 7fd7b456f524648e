"""Two "processes" (room manager + relay + bus each) on one in-process hub and one store: changes,
presence, loads racing unsaved changes, and broker outages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from collabcode.clock import FakeClock
from collabcode.collab.relay import BusRelay
from collabcode.collab.rooms import RoomManager
from collabcode.collab.store import MemoryDocumentStore
from collabcode.pubsub import MemoryBus, MemoryHub
from tests.collab import GatedStore, SimClient, pump, text_of
from tests.fixtures_bus import eventually


@dataclass
class Process:
    bus: MemoryBus
    relay: BusRelay
    manager: RoomManager


async def start_process(
    hub: MemoryHub, store: MemoryDocumentStore, clock: FakeClock, name: str, *, resync: bool = True
) -> Process:
    bus = MemoryBus(hub, instance_id=name)
    await bus.start()
    relay = BusRelay(bus)
    manager = RoomManager(
        store,
        clock=clock,
        publish=relay.publish_update,
        publish_awareness=relay.publish_awareness,
        request_sync=relay.request_sync,
        publish_stored=relay.publish_stored,
    )
    await relay.start(manager)
    if resync:
        bus.on_reconnect(manager.resync)
    return Process(bus, relay, manager)


@dataclass
class Cluster:
    hub: MemoryHub
    store: GatedStore
    clock: FakeClock
    a: Process
    b: Process


@pytest.fixture
def a_resyncs() -> bool:
    return True


@pytest.fixture
async def cluster(a_resyncs: bool) -> AsyncIterator[Cluster]:
    hub, store, clock = MemoryHub(), GatedStore(), FakeClock()
    a = await start_process(hub, store, clock, "process-a", resync=a_resyncs)
    b = await start_process(hub, store, clock, "process-b")
    yield Cluster(hub, store, clock, a, b)
    store.append_gate.set()
    store.load_gate.set()
    for process in (a, b):
        await process.relay.close()
        await process.manager.close()
        await process.bus.close()


async def test_an_edit_reaches_the_other_process_and_is_stored_once(cluster: Cluster) -> None:
    alice, bob = SimClient("alice"), SimClient("bob")
    room_a = await cluster.a.manager.join("d", alice)
    room_b = await cluster.b.manager.join("d", bob)
    alice.connect()
    bob.connect()
    pump(room_a, alice)
    pump(room_b, bob)
    alice.text.insert(0, "from a")
    pump(room_a, alice)
    await eventually(lambda: room_b.text == "from a", 10, "the edit on process b")
    pump(room_b, bob)
    assert str(bob.text) == "from a"
    await cluster.a.manager.flush("d")
    await cluster.b.manager.flush("d")
    assert cluster.store.update_count("d") == 1  # stored by the process that received it, only


async def test_presence_crosses_processes_and_expires_when_not_renewed(cluster: Cluster) -> None:
    alice, bob = SimClient("alice"), SimClient("bob")
    room_a = await cluster.a.manager.join("d", alice)
    room_b = await cluster.b.manager.join("d", bob)
    alice.awareness.set_local_state({"cursor": 3})
    alice.connect()
    pump(room_a, alice)
    await eventually(lambda: bool(room_b.awareness_states()), 10, "alice's presence on process b")
    bob.connect()
    pump(room_b, bob)
    state = bob.awareness.states[alice.awareness.client_id]
    assert state["user"] == {"id": "user-alice", "name": "alice", "color": "#00ff00"}
    # Process a goes silent (as if it died): after 30 s without renewal the state is removed.
    cluster.clock.advance(31)
    await cluster.b.manager.sweep()
    pump(room_b, bob)
    assert alice.awareness.client_id not in bob.awareness.states
    assert room_b.awareness_states() == {bob.awareness.client_id: room_b.awareness_states()[bob.awareness.client_id]}


async def test_leaving_removes_presence_on_the_other_process(cluster: Cluster) -> None:
    alice, bob = SimClient("alice"), SimClient("bob")
    room_a = await cluster.a.manager.join("d", alice)
    room_b = await cluster.b.manager.join("d", bob)
    alice.connect()
    pump(room_a, alice)
    await eventually(lambda: alice.awareness.client_id in room_b.awareness_states(), 10, "presence on b")
    cluster.a.manager.leave("d", alice)
    await eventually(lambda: alice.awareness.client_id not in room_b.awareness_states(), 10, "removal on b")


async def test_a_room_loaded_while_an_edit_is_unsaved_asks_for_it(cluster: Cluster) -> None:
    alice = SimClient("alice")
    room_a = await cluster.a.manager.join("d", alice)
    alice.connect()
    pump(room_a, alice)
    cluster.store.append_gate.clear()  # process a's write is slow: nothing is stored yet
    alice.text.insert(0, "not stored yet")
    pump(room_a, alice)
    await cluster.store.append_started.wait()
    # Process b loads the document now: the store has nothing, the edit was published before.
    bob = SimClient("bob")
    room_b = await cluster.b.manager.join("d", bob)
    await eventually(lambda: room_b.text == "not stored yet", 10, "the sync answer from process a")
    cluster.store.append_gate.set()
    await cluster.a.manager.flush("d")
    await cluster.b.manager.flush("d")
    assert cluster.store.update_count("d") == 1


@pytest.mark.parametrize(
    "a_resyncs",
    [pytest.param(True, id="both-ask"), pytest.param(False, id="only-b-asks")],
)
async def test_after_an_outage_both_sides_catch_up_without_storing_twice(cluster: Cluster) -> None:
    alice, bob = SimClient("alice"), SimClient("bob")
    room_a = await cluster.a.manager.join("d", alice)
    room_b = await cluster.b.manager.join("d", bob)
    for client, room in ((alice, room_a), (bob, room_b)):
        client.connect()
        pump(room, client)
    await cluster.hub.set_reachable(False)
    cluster.store.append_gate.clear()  # and neither edit reaches the database either, yet
    alice.text.insert(0, "A")
    pump(room_a, alice)
    bob.text.insert(0, "B")
    pump(room_b, bob)
    assert room_a.text == "A" and room_b.text == "B"

    def lost() -> bool:
        return all(p.relay.stats()["dropped"] >= 1 for p in (cluster.a, cluster.b))

    await eventually(lost, 10, "both publishes lost in the outage")
    await cluster.hub.set_reachable(True)  # runs every bus's on_reconnect: manager.resync
    # Only the state-vector exchange can carry the edits: the store has none of them.
    await eventually(lambda: room_a.text == room_b.text and len(room_a.text) == 2, 10, "convergence")
    pump(room_a, alice)
    pump(room_b, bob)
    assert str(alice.text) == str(bob.text) == room_a.text
    cluster.store.append_gate.set()
    await cluster.a.manager.flush("d")
    await cluster.b.manager.flush("d")
    assert cluster.store.update_count("d") == 2  # each edit stored once, by its own process


async def test_resync_reads_what_a_process_that_left_stored_meanwhile(cluster: Cluster) -> None:
    bob = SimClient("bob")
    room_b = await cluster.b.manager.join("d", bob)
    await cluster.hub.set_reachable(False)
    await cluster.a.manager.replace_text("d", "written by a, which then unloaded")
    await cluster.a.manager.close()  # process a no longer holds the room to answer a sync
    await cluster.hub.set_reachable(True)
    await eventually(lambda: room_b.text == "written by a, which then unloaded", 10, "catch-up from the store")


async def test_an_edit_whose_process_dies_before_storing_it_is_stored_by_the_other(cluster: Cluster) -> None:
    alice, bob = SimClient("alice"), SimClient("bob")
    room_a = await cluster.a.manager.join("d", alice)
    room_b = await cluster.b.manager.join("d", bob)
    alice.connect()
    bob.connect()
    pump(room_a, alice)
    pump(room_b, bob)
    cluster.store.append_gate.clear()  # process a cannot store: it "dies" before it does
    alice.text.insert(0, "relayed, never stored by a")
    pump(room_a, alice)
    await eventually(lambda: room_b.text == "relayed, never stored by a", 10, "the edit on process b")
    await cluster.a.relay.close()  # a is gone: no report will ever come
    await cluster.b.manager.sweep()
    assert cluster.store.update_count("d") == 0  # b waits for a report first
    cluster.clock.advance(6)
    cluster.store.append_gate.set()
    await cluster.b.manager.sweep()
    await cluster.b.manager.flush("d")
    stored = await cluster.store.load("d")
    assert stored is not None
    assert text_of(stored) == "relayed, never stored by a"


async def test_an_edit_reported_stored_is_not_stored_again(cluster: Cluster) -> None:
    alice, bob = SimClient("alice"), SimClient("bob")
    room_a = await cluster.a.manager.join("d", alice)
    room_b = await cluster.b.manager.join("d", bob)
    alice.connect()
    pump(room_a, alice)
    alice.text.insert(0, "stored once")
    pump(room_a, alice)
    await eventually(lambda: room_b.text == "stored once", 10, "the edit on process b")
    await cluster.a.manager.flush("d")
    await eventually(lambda: cluster.store.update_count("d") == 1, 10, "stored by a")
    await eventually(lambda: cluster.b.manager.unconfirmed_count("d") == 0, 10, "b heard that a stored it")
    cluster.clock.advance(60)
    await cluster.b.manager.sweep()
    await cluster.b.manager.flush("d")
    assert cluster.store.update_count("d") == 1

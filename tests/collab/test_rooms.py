"""RoomManager: one load per document, saving, saved receipts, idle unloading, relay origins."""

from __future__ import annotations

import asyncio

import pytest

from collabcode.clock import FakeClock
from collabcode.collab.protocol import encode_sync_update
from collabcode.collab.rooms import PersistenceError, RoomManager
from collabcode.collab.store import MemoryDocumentStore
from tests.collab import FakePeer, GatedStore, SimClient, pump, text_update


async def test_concurrent_joins_share_one_load() -> None:
    store = GatedStore()
    store.rows["doc-1"] = [(1, text_update("stored"))]
    store.load_gate.clear()
    manager = RoomManager(store, clock=FakeClock())
    peers = [FakePeer(f"p{i}") for i in range(5)]
    joins = [asyncio.create_task(manager.join("doc-1", peer)) for peer in peers]
    await store.load_started.wait()
    store.load_gate.set()
    rooms = await asyncio.gather(*joins)
    assert store.load_calls == 1
    assert all(room is rooms[0] for room in rooms)
    assert rooms[0].peer_count == 5 and rooms[0].text == "stored"


async def test_a_joiner_never_gets_a_room_unloaded_while_it_waited() -> None:
    store = GatedStore()
    store.load_gate.clear()
    manager = RoomManager(store, clock=FakeClock(), idle_unload_seconds=0)
    join = asyncio.create_task(manager.join("doc-1", FakePeer("p")))
    await store.load_started.wait()
    load = manager._loading["doc-1"]
    store.load_gate.set()
    await load
    # The load is done but the joiner has not resumed yet; an idle sweep gets in first.
    assert await manager.sweep() == ["doc-1"]
    room = await join
    assert not room.closed and manager.loaded("doc-1") is room
    assert store.load_calls == 2


async def test_a_cancelled_joiner_does_not_cancel_the_shared_load() -> None:
    store = GatedStore()
    store.load_gate.clear()
    manager = RoomManager(store, clock=FakeClock())
    quitter = asyncio.create_task(manager.join("doc-1", FakePeer("q")))
    stayer = asyncio.create_task(manager.join("doc-1", FakePeer("s")))
    await store.load_started.wait()
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    store.load_gate.set()
    room = await stayer
    assert room.peer_count == 1 and store.load_calls == 1


async def test_a_failed_load_reaches_every_joiner_and_the_next_join_retries() -> None:
    store = GatedStore()
    store.fail_loads = 1
    store.load_gate.clear()
    manager = RoomManager(store, clock=FakeClock())
    joins = [asyncio.create_task(manager.join("doc-1", FakePeer(f"p{i}"))) for i in range(3)]
    await store.load_started.wait()
    store.load_gate.set()
    results = await asyncio.gather(*joins, return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    room = await manager.join("doc-1", FakePeer("again"))
    assert room.peer_count == 1 and store.load_calls == 2


async def test_saved_reaches_opted_in_peers_only_once_the_append_is_durable() -> None:
    store = GatedStore()
    manager = RoomManager(store, clock=FakeClock())
    mine = FakePeer("mine", wants_saved=True)
    stock = FakePeer("stock")
    room = await manager.join("doc-1", mine)
    await manager.join("doc-1", stock)
    store.append_gate.clear()
    room.receive(mine, encode_sync_update(text_update("a", client_id=1)))
    room.receive(stock, encode_sync_update(text_update("b", client_id=2)))
    await store.append_started.wait()
    assert mine.saved() == []  # the append is still in flight
    room.receive(mine, encode_sync_update(text_update("c", client_id=3)))
    store.append_gate.set()
    await manager.flush("doc-1")
    assert mine.saved() == [1, 2]
    assert stock.saved() == []
    # Changes that arrived during the first append went out together in the second one.
    assert store.append_calls == 2
    assert await MemoryDocumentStore.load(store, "doc-1") == room.encoded_state()


async def test_a_failed_append_keeps_the_changes_and_flush_retries() -> None:
    store = GatedStore()
    store.fail_appends = 1
    manager = RoomManager(store, clock=FakeClock())
    peer = FakePeer("p", wants_saved=True)
    room = await manager.join("doc-1", peer)
    room.receive(peer, encode_sync_update(text_update("precious")))
    with pytest.raises(PersistenceError):
        await manager.flush("doc-1")
    assert peer.saved() == []
    store.fail_appends = 0
    await manager.flush("doc-1")
    assert peer.saved() == [1]
    assert await MemoryDocumentStore.load(store, "doc-1") == room.encoded_state()


async def test_idle_room_is_flushed_then_unloaded_after_the_grace_period() -> None:
    clock = FakeClock()
    store = GatedStore()
    manager = RoomManager(store, clock=clock, idle_unload_seconds=30)
    client = SimClient("c")
    room = await manager.join("doc-1", client)
    client.connect()
    pump(room, client)
    store.append_gate.clear()
    client.text.insert(0, "unsaved work")
    pump(room, client)
    manager.leave("doc-1", client)
    clock.advance(29)
    assert await manager.sweep() == []
    assert manager.loaded("doc-1") is room
    clock.advance(1)
    sweep = asyncio.create_task(manager.sweep())
    await store.append_started.wait()
    assert manager.loaded("doc-1") is room  # not gone before the save is durable
    store.append_gate.set()
    assert await sweep == ["doc-1"]
    assert manager.loaded("doc-1") is None and room.closed
    assert store.texts["doc-1"] == "unsaved work"
    again = await manager.join("doc-1", FakePeer("back"))
    assert again is not room and again.text == "unsaved work"


async def test_a_join_during_unload_keeps_the_room() -> None:
    clock = FakeClock()
    store = GatedStore()
    manager = RoomManager(store, clock=clock, idle_unload_seconds=5)
    peer = FakePeer("p")
    room = await manager.join("doc-1", peer)
    room.receive(peer, encode_sync_update(text_update("x")))
    manager.leave("doc-1", peer)
    store.append_gate.clear()
    clock.advance(10)
    sweep = asyncio.create_task(manager.sweep())
    await store.append_started.wait()
    assert await manager.join("doc-1", FakePeer("newcomer")) is room
    store.append_gate.set()
    assert await sweep == []
    assert manager.loaded("doc-1") is room and store.load_calls == 1


async def test_a_room_that_cannot_be_saved_stays_loaded() -> None:
    clock = FakeClock()
    store = GatedStore()
    manager = RoomManager(store, clock=clock, idle_unload_seconds=1)
    peer = FakePeer("p")
    room = await manager.join("doc-1", peer)
    store.fail_appends = 100
    room.receive(peer, encode_sync_update(text_update("x")))
    manager.leave("doc-1", peer)
    clock.advance(5)
    assert await manager.sweep() == []
    assert manager.loaded("doc-1") is room
    store.fail_appends = 0
    assert await manager.sweep() == ["doc-1"]
    assert store.update_count("doc-1") == 1


async def test_remote_changes_are_relayed_not_republished_or_stored() -> None:
    published: list[tuple[str, bytes]] = []
    store = MemoryDocumentStore()
    manager = RoomManager(store, clock=FakeClock(), publish=lambda d, u: published.append((d, u)))
    peer = FakePeer("p")
    room = await manager.join("doc-1", peer)
    assert manager.apply_remote("doc-1", text_update("elsewhere"))
    await manager.flush("doc-1")
    assert room.text == "elsewhere" and len(peer.sent) == 1
    assert published == [] and store.append_calls == 0
    assert not manager.apply_remote("doc-unloaded", text_update("x"))
    room.receive(peer, encode_sync_update(text_update("here")))
    await manager.flush("doc-1")
    assert [d for d, _ in published] == ["doc-1"] and store.append_calls == 1


async def test_remote_change_during_load_is_not_lost() -> None:
    store = GatedStore()
    store.load_gate.clear()
    manager = RoomManager(store, clock=FakeClock())
    join = asyncio.create_task(manager.join("doc-1", FakePeer("p")))
    await store.load_started.wait()
    assert manager.apply_remote("doc-1", text_update("raced"))
    store.load_gate.set()
    room = await join
    assert room.text == "raced"


async def test_replace_text_is_stored_and_the_unused_room_unloads() -> None:
    clock = FakeClock()
    store = MemoryDocumentStore()
    manager = RoomManager(store, clock=clock, idle_unload_seconds=10)
    await manager.replace_text("doc-1", "print('hi')\n")
    await manager.flush("doc-1")
    assert store.append_calls == 1
    clock.advance(10)
    assert await manager.sweep() == ["doc-1"]
    assert store.texts["doc-1"] == "print('hi')\n"
    assert (await manager.get("doc-1")).text == "print('hi')\n"


async def test_log_is_compacted_and_still_loads() -> None:
    store = MemoryDocumentStore()
    manager = RoomManager(store, clock=FakeClock(), compact_every=3)
    client = SimClient("c")
    room = await manager.join("doc-1", client)
    client.connect()
    pump(room, client)
    for i in range(7):
        client.text.insert(0, str(i))
        pump(room, client)
        await manager.flush("doc-1")
    assert store.compact_calls == 2
    assert store.update_count("doc-1") == 2  # one compacted row + one appended since
    fresh = RoomManager(store, clock=FakeClock())
    assert (await fresh.get("doc-1")).text == "6543210"


async def test_flush_all_and_close_save_everything() -> None:
    store = MemoryDocumentStore()
    manager = RoomManager(store, clock=FakeClock())
    for doc_id in ("a", "b"):
        await manager.replace_text(doc_id, f"text of {doc_id}")
    await manager.close()
    assert manager.doc_ids == ()
    assert store.texts == {"a": "text of a", "b": "text of b"}
    fresh = RoomManager(store, clock=FakeClock())
    assert (await fresh.get("b")).text == "text of b"


async def test_resync_brings_in_changes_the_bus_lost() -> None:
    store = MemoryDocumentStore()
    here = RoomManager(store, clock=FakeClock())
    there = RoomManager(store, clock=FakeClock())  # another process on the same database
    peer = FakePeer("p")
    room = await here.join("doc-1", peer)
    await there.replace_text("doc-1", "written elsewhere")
    await there.flush("doc-1")
    assert room.text == ""  # the notification never arrived
    appends = store.append_calls
    await here.resync()
    assert room.text == "written elsewhere" and len(peer.sent) == 1
    await here.flush("doc-1")
    assert store.append_calls == appends  # not stored a second time

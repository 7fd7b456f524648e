"""Workspace co-members see each other's presence over real ``/ws/events`` sockets, and only while
they share a workspace."""

from __future__ import annotations

from tests.chat.harness import ChatEnv
from tests.social.conftest import workspace


async def test_co_members_see_each_other(live: ChatEnv) -> None:
    alice, bob, carol = await live.person("alice"), await live.person("bob"), await live.person("carol")
    team = await workspace(live, alice, "Team", [(bob, "viewer")])
    bob_socket = await live.socket(bob)
    alice_socket = await live.socket(alice)
    assert [u["user_id"] for u in alice_socket.of_type("presence.snapshot")[0]["users"]] == [bob.id]
    await bob_socket.wait_type("presence", user_id=alice.id, status="online")
    carol_socket = await live.socket(carol)
    assert carol_socket.of_type("presence.snapshot")[0]["users"] == []

    await alice_socket.send({"type": "presence.set", "state": "away"})
    await bob_socket.wait_type("presence", user_id=alice.id, status="away")

    await live.call(alice, "DELETE", f"/api/workspaces/{team}/members/{bob.id}", expect=204)
    again = await live.socket(alice)
    assert again.of_type("presence.snapshot")[0]["users"] == []
    assert not [f for f in carol_socket.frames if f.get("type") == "presence"]

"""Following: the rules, the lists, and the live frames over a real ``/ws/events`` socket."""

from __future__ import annotations

from tests.chat.harness import ChatEnv
from tests.social.conftest import online, profile, workspace


async def test_follow_and_unfollow(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    first = await env.call(alice, "POST", "/api/users/bob/follow", expect=200)
    assert first.json() == {"following": True, "followers_count": 1}
    again = await env.call(alice, "POST", "/api/users/bob/follow", expect=200)
    assert again.json() == {"following": True, "followers_count": 1}
    seen = await profile(env, alice, "bob")
    assert seen["followed_by_me"] is True and seen["follows_me"] is False and seen["followers_count"] == 1
    mine = await profile(env, bob, "alice")
    assert mine["follows_me"] is True and mine["following_count"] == 1
    gone = await env.call(alice, "DELETE", "/api/users/bob/follow", expect=200)
    assert gone.json() == {"following": False, "followers_count": 0}
    await env.call(alice, "DELETE", "/api/users/bob/follow", expect=200)
    assert (await profile(env, alice, "bob"))["followed_by_me"] is False


async def test_who_cannot_follow(env: ChatEnv) -> None:
    alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
    itself = await env.call(alice, "POST", "/api/users/alice/follow", expect=422)
    assert itself.json()["error"]["code"] == "cannot_follow_self"
    await env.call(alice, "POST", "/api/users/nobody/follow", expect=404)
    await env.call(None, "POST", "/api/users/bob/follow", expect=401)
    # Bob blocked Alice: Bob does not exist for her, so she cannot follow him.
    await env.call(bob, "POST", "/api/users/alice/block", expect=204)
    await env.call(alice, "POST", "/api/users/bob/follow", expect=404)
    # Carol blocked by Alice: Alice must unblock first.
    await env.call(alice, "POST", "/api/users/carol/block", expect=204)
    refused = await env.call(alice, "POST", "/api/users/carol/follow", expect=403)
    assert refused.json()["error"]["code"] == "blocked"
    assert (await profile(env, bob, "bob"))["followers_count"] == 0
    assert (await profile(env, carol, "carol"))["followers_count"] == 0


async def test_unfollowing_someone_who_blocked_you_removes_the_follow(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await env.call(alice, "POST", "/api/users/bob/follow", expect=200)
    await env.call(bob, "POST", "/api/users/alice/block", expect=204)
    await env.call(alice, "DELETE", "/api/users/bob/follow", expect=404)
    await env.call(bob, "DELETE", "/api/users/alice/block", expect=204)
    assert (await profile(env, alice, "bob"))["followed_by_me"] is False


async def test_lists_page_and_hide_blocked_people(env: ChatEnv) -> None:
    star = await env.person("star")
    fans = [await env.person(f"fan{i}") for i in range(5)]
    for fan in fans:
        env.clock.advance(1)
        await env.call(fan, "POST", "/api/users/star/follow", expect=200)
    viewer = await env.person("viewer")
    first = (await env.call(viewer, "GET", "/api/users/star/followers", params={"limit": 2}, expect=200)).json()
    assert [u["username"] for u in first["users"]] == ["fan4", "fan3"]
    assert set(first["users"][0]) == {"id", "username", "display_name", "avatar_color", "avatar_url", "presence"}
    second = (
        await env.call(
            viewer, "GET", "/api/users/star/followers", params={"limit": 2, "before": first["next_cursor"]}, expect=200
        )
    ).json()
    assert [u["username"] for u in second["users"]] == ["fan2", "fan1"]
    rest = (
        await env.call(viewer, "GET", "/api/users/star/followers", params={"before": second["next_cursor"]}, expect=200)
    ).json()
    assert [u["username"] for u in rest["users"]] == ["fan0"] and rest["next_cursor"] is None
    following = (await env.call(viewer, "GET", "/api/users/fan0/following", expect=200)).json()
    assert [u["username"] for u in following["users"]] == ["star"]
    # A fan the viewer blocked is not listed to the viewer.
    await env.call(viewer, "POST", "/api/users/fan4/block", expect=204)
    listed = (await env.call(viewer, "GET", "/api/users/star/followers", expect=200)).json()
    assert "fan4" not in [u["username"] for u in listed["users"]]
    # Someone the star blocked does not appear among the star's followers at all.
    await env.call(star, "POST", "/api/users/fan3/block", expect=204)
    listed = (await env.call(fans[0], "GET", "/api/users/star/followers", expect=200)).json()
    assert "fan3" not in [u["username"] for u in listed["users"]]
    for params in ({"before": "nonsense"}, {"limit": "0"}, {"limit": "101"}, {"limit": "x"}):
        await env.call(viewer, "GET", "/api/users/star/followers", params=params, expect=422)


async def test_list_presence_only_where_the_viewer_may_see_it(env: ChatEnv) -> None:
    star, fan, stranger = await env.person("star"), await env.person("fan"), await env.person("stranger")
    await env.call(fan, "POST", "/api/users/star/follow", expect=200)
    await online(env, fan)
    await online(env, star)
    # The stranger has no relationship with the fan: the fan's presence is not shown to them.
    listed = (await env.call(stranger, "GET", "/api/users/star/followers", expect=200)).json()
    assert listed["users"][0]["presence"] is None
    # The star does not see a follower's presence either (following is one-way) ...
    assert (await env.call(star, "GET", "/api/users/star/followers", expect=200)).json()["users"][0]["presence"] is None
    # ... but the fan sees the star's.
    following = (await env.call(fan, "GET", "/api/users/fan/following", expect=200)).json()
    assert following["users"][0]["presence"]["status"] == "online"
    await workspace(env, star, "Team", [(fan, "viewer")])
    listed = (await env.call(star, "GET", "/api/users/star/followers", expect=200)).json()
    assert listed["users"][0]["presence"]["status"] == "online"


async def test_follow_frame_and_presence_over_real_sockets(live: ChatEnv) -> None:
    alice, bob, carol = await live.person("alice"), await live.person("bob"), await live.person("carol")
    bob_socket = await live.socket(bob)
    alice_socket = await live.socket(alice)
    snapshot = alice_socket.of_type("presence.snapshot")[0]
    assert snapshot["users"] == []

    await live.call(alice, "POST", "/api/users/bob/follow", expect=200)
    frame = await bob_socket.wait_type("follow")
    assert frame == {"type": "follow", "user": {"id": alice.id, "username": "alice", "display_name": "Alice"}}
    # Alice hears Bob's presence at once, and a new socket of hers starts with it.
    await alice_socket.wait_type("presence", user_id=bob.id, status="online")
    second = await live.socket(alice)
    assert [u["user_id"] for u in second.of_type("presence.snapshot")[0]["users"]] == [bob.id]
    # Following is one-way: Bob's new socket does not show Alice.
    bob_again = await live.socket(bob)
    assert bob_again.of_type("presence.snapshot")[0]["users"] == []

    # Bob leaves: Alice (a follower) hears it; Carol (no relationship) never hears of Bob.
    carol_socket = await live.socket(carol)
    await bob_socket.close()
    await bob_again.close()
    await alice_socket.wait_type("presence", user_id=bob.id, status="offline")
    assert not [f for f in carol_socket.frames if f.get("user_id") == bob.id]
    assert not [f for f in bob_socket.frames if f.get("type") == "follow" and f["user"]["id"] != alice.id]

    # Unfollowing hides Bob again.
    await live.call(alice, "DELETE", "/api/users/bob/follow", expect=200)
    await alice_socket.wait_type("presence", user_id=bob.id, status="offline", last_seen_at=None)
    third = await live.socket(alice)
    assert third.of_type("presence.snapshot")[0]["users"] == []


async def test_blocked_follower_gets_no_presence(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    await live.call(alice, "POST", "/api/users/bob/follow", expect=200)
    await live.call(bob, "POST", "/api/users/alice/block", expect=204)
    alice_socket = await live.socket(alice)
    assert alice_socket.of_type("presence.snapshot")[0]["users"] == []
    await live.socket(bob)
    await alice_socket.send({"type": "ping", "ref": "p1"})
    await alice_socket.wait_type("pong", ref="p1")
    assert not [f for f in alice_socket.frames if f.get("type") == "presence" and f.get("user_id") == bob.id]

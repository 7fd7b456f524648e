"""Finding people: by phone number (opted-in, verified, quota-limited) and by username prefix."""

from __future__ import annotations

import logging

import pytest

from collabcode.chat.phones import phone_hash
from collabcode.chat.service import ChatLimits
from tests.chat.harness import ChatEnv, Person

ALICE_PHONE = "+44 7911 123456"
ALICE_E164 = "+447911123456"


async def _opt_in(env: ChatEnv, person: Person, number: str, *, discoverable: bool = True) -> dict[str, object]:
    response = await env.call(
        person, "PATCH", "/api/me/privacy", json={"phone_number": number, "discoverable": discoverable}, expect=200
    )
    body: dict[str, object] = response.json()
    return body


async def test_only_opted_in_verified_people_are_found(env: ChatEnv) -> None:
    alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
    dave = await env.person("dave", verified=False)
    settings = await _opt_in(env, alice, ALICE_PHONE)
    assert settings == {
        "phone_number_hint": "+44 ••• 56",
        "discoverable": True,
        "read_receipts": True,
        "invisible": False,
    }
    await _opt_in(env, bob, "+1 650-253-0000", discoverable=False)
    await _opt_in(env, dave, "+33 6 12 34 56 78")
    found = await env.call(
        carol,
        "POST",
        "/api/contacts/discover",
        json={
            "phone_numbers": ["07911 123456", "+1 (650) 253-0000", "+33612345678", "+61 2 9374 4000"],
            "region": "GB",
        },
        expect=200,
    )
    assert found.json() == {
        "matches": [
            {
                "phone_number": ALICE_E164,
                "user": {
                    "id": alice.id,
                    "username": "alice",
                    "display_name": "Alice",
                    "avatar_color": found.json()["matches"][0]["user"]["avatar_color"],
                },
            }
        ]
    }
    # Nobody finds themselves; and the number is stored only as a keyed hash.
    assert (await env.call(alice, "POST", "/api/contacts/discover", json={"phone_numbers": [ALICE_PHONE]})).json() == {
        "matches": []
    }
    stored = await env.services.db.fetch_all("SELECT phone_hash, phone_hint FROM chat_settings")
    assert all("7911" not in str(row) for row in stored)
    assert {row["phone_hash"] for row in stored} >= {phone_hash(env.services.secrets.hash_key, ALICE_E164)}
    # Opting out and removing the number both hide alice again.
    await env.call(alice, "PATCH", "/api/me/privacy", json={"discoverable": False}, expect=200)
    assert (await env.call(carol, "POST", "/api/contacts/discover", json={"phone_numbers": [ALICE_PHONE]})).json()[
        "matches"
    ] == []
    await env.call(alice, "PATCH", "/api/me/privacy", json={"discoverable": True, "phone_number": None}, expect=200)
    assert (await env.call(alice, "GET", "/api/me/privacy")).json()["phone_number_hint"] is None
    assert (await env.call(carol, "POST", "/api/contacts/discover", json={"phone_numbers": [ALICE_PHONE]})).json()[
        "matches"
    ] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone_number": "12345"}, "phone_number"),
        ({"phone_number": "+44 12"}, "phone_number"),
        ({"phone_number": "not a number"}, "phone_number"),
        ({"phone_number": "07911 123456"}, "phone_number"),  # no + and no region
        ({"phone_number": "+447911123456", "phone_region": "G1"}, "phone_region"),
        ({"discoverable": None}, "discoverable"),
        ({"phone_hash": "x"}, "phone_hash"),
    ],
)
async def test_invalid_settings_are_422(env: ChatEnv, body: dict[str, object], field: str) -> None:
    alice = await env.person("alice")
    response = await env.call(alice, "PATCH", "/api/me/privacy", json=body, expect=422)
    assert response.json()["error"]["details"]["field"] == field


async def test_invalid_numbers_in_a_lookup_are_422_and_cost_nothing(env: ChatEnv) -> None:
    alice = await env.person("alice")
    env.chat.limits = ChatLimits(discovery_per_user_per_day=3)
    bad = await env.call(
        alice, "POST", "/api/contacts/discover", json={"phone_numbers": ["+447911123456", "garbage"]}, expect=422
    )
    assert bad.json()["error"]["details"]["field"] == "phone_numbers.1"
    too_many = {"phone_numbers": [f"+4479111234{i:02d}" for i in range(101)]}
    await env.call(alice, "POST", "/api/contacts/discover", json=too_many, expect=422)
    await env.call(alice, "POST", "/api/contacts/discover", json={"phone_numbers": []}, expect=422)
    await env.call(alice, "POST", "/api/contacts/discover", json={"phone_numbers": ["+447911123456"] * 3}, expect=200)


async def test_the_daily_quota_answers_429_and_is_logged(env: ChatEnv, caplog: pytest.LogCaptureFixture) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    env.chat.limits = ChatLimits(discovery_per_user_per_day=5, discovery_per_ip_per_day=8)
    numbers = [f"+4479111234{i:02d}" for i in range(5)]
    await env.call(alice, "POST", "/api/contacts/discover", json={"phone_numbers": numbers}, expect=200)
    with caplog.at_level(logging.WARNING, logger="collabcode.security"):
        over = await env.call(
            alice, "POST", "/api/contacts/discover", json={"phone_numbers": ["+447911123499"]}, expect=429
        )
    assert int(over.headers["retry-after"]) > 3600
    assert over.json()["error"]["code"] == "rate_limited"
    events = [r for r in caplog.records if getattr(r, "event", None) == "discovery.quota_exceeded"]
    assert events and getattr(events[0], "user_id", None) == alice.id
    assert "+4479" not in caplog.text  # numbers never reach the log
    # The address has its own quota: bob, on the same address, has 3 lookups left of 8.
    await env.call(bob, "POST", "/api/contacts/discover", json={"phone_numbers": numbers[:3]}, expect=200)
    await env.call(bob, "POST", "/api/contacts/discover", json={"phone_numbers": numbers[3:4]}, expect=429)
    # A day later the quota is back.
    await env.advance(86400)
    await env.call(alice, "POST", "/api/contacts/discover", json={"phone_numbers": numbers}, expect=200)


async def test_search_by_username_prefix_finds_only_verified_people(env: ChatEnv) -> None:
    alice = await env.person("alice")
    for name in ("bob", "bobby", "bo_b", "boris"):
        await env.person(name)
    await env.person("bobcat", verified=False)
    found = (await env.call(alice, "GET", "/api/users/search", params={"q": "Bob"}, expect=200)).json()["users"]
    assert [u["username"] for u in found] == ["bob", "bobby"]
    assert set(found[0]) == {"id", "username", "display_name", "avatar_color"}
    # '_' is a literal, not a wildcard.
    found = (await env.call(alice, "GET", "/api/users/search", params={"q": "bo_"}, expect=200)).json()["users"]
    assert [u["username"] for u in found] == ["bo_b"]
    assert (await env.call(alice, "GET", "/api/users/search", params={"q": "al"})).json()["users"] == []
    for bad in ("", "b", "b%", "x" * 33):
        await env.call(alice, "GET", "/api/users/search", params={"q": bad}, expect=422)


async def test_search_is_rate_limited(env: ChatEnv) -> None:
    alice = await env.person("alice")
    env.chat.limits = ChatLimits(search_burst=2, search_per=60)
    for _ in range(2):
        await env.call(alice, "GET", "/api/users/search", params={"q": "bo"}, expect=200)
    limited = await env.call(alice, "GET", "/api/users/search", params={"q": "bo"}, expect=429)
    assert "retry-after" in limited.headers

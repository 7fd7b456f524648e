"""Password policy, the blocklist shipped in the wheel, and bcrypt in its bounded pool."""

from __future__ import annotations

import asyncio
import threading

import bcrypt
import pytest

from collabcode.auth import passwords
from collabcode.auth.passwords import DUMMY_HASH_12, PasswordHasher, PasswordRejected, check_policy
from collabcode.settings import SETTINGS_BY_NAME, Settings


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short", "password_too_short"),
        ("sevench", "password_too_short"),
        ("a" * 73, "password_too_long"),
        ("é" * 37, "password_too_long"),  # 74 bytes in UTF-8, 37 characters
        ("pass\x00word-long", "password_forbidden_character"),
        ("line\nbreak-pass", "password_forbidden_character"),
        ("password", "password_common"),
        ("12345678", "password_common"),
        ("qwerty123", "password_common"),
        ("iloveyou", "password_common"),
        ("PassWord1", "password_common"),
        ("alice-the-dev", "password_matches_account"),
    ],
)
def test_policy_rejects(password: str, rule: str) -> None:
    with pytest.raises(PasswordRejected) as caught:
        check_policy(password, username="alice-the-dev", email="alice-the-dev@example.com")
    assert caught.value.rule == rule


@pytest.mark.parametrize("password", ["correct horse battery", "a" * 72, "ü" * 36, "8 chars!", "日本語のパスワード"])
def test_policy_accepts_without_composition_rules(password: str) -> None:
    assert check_policy(password) == password


def test_blocklist_is_the_top_3000_and_ships_in_the_package() -> None:
    common = passwords.common_passwords()
    assert len(common) == 3000
    assert {"password", "12345678", "qwerty123", "iloveyou", "password1", "sunshine"} <= common
    assert all(len(p) >= 8 and p == p.lower() for p in common)


def test_production_cost_is_12() -> None:
    assert passwords.DEFAULT_ROUNDS == 12
    assert Settings().bcrypt_rounds == 12
    assert SETTINGS_BY_NAME["bcrypt_rounds"].default == 12
    hasher = PasswordHasher()
    try:
        assert hasher.rounds == 12 and hasher.workers == 2
        assert hasher.dummy_hash == DUMMY_HASH_12
    finally:
        hasher.close()
    # The built-in dummy is a real cost-12 hash, so unknown accounts cost what real ones do.
    assert DUMMY_HASH_12.startswith("$2b$12$")
    assert bcrypt.checkpw(b"not the password", DUMMY_HASH_12.encode()) is False


async def test_default_hasher_hashes_at_cost_12() -> None:
    hasher = PasswordHasher()
    try:
        hashed = await hasher.hash("correct horse battery")
        assert hashed.startswith("$2b$12$")
        assert await hasher.verify("correct horse battery", hashed)
    finally:
        hasher.close()


async def test_verify_never_truncates_and_never_raises() -> None:
    hasher = PasswordHasher(4)
    try:
        stored = await hasher.hash("a" * 72)
        assert await hasher.verify("a" * 72, stored)
        assert not await hasher.verify("a" * 73, stored)  # bcrypt would have matched a truncation
        assert not await hasher.verify("a" * 72 + "\x00", stored)
        assert not await hasher.verify("a" * 72, None)
        assert not await hasher.verify("a" * 72, "not-a-hash")
        with pytest.raises(ValueError):
            await hasher.hash("a" * 73)
    finally:
        hasher.close()


async def test_hashing_runs_in_at_most_two_threads_off_the_event_loop() -> None:
    hasher = PasswordHasher(4)
    seen: set[str] = set()
    original = bcrypt.hashpw

    def spy(password: bytes, salt: bytes) -> bytes:
        seen.add(threading.current_thread().name)
        return original(password, salt)

    try:
        hashes = await asyncio.gather(*(hasher._run(spy, b"some password", bcrypt.gensalt(4)) for _ in range(12)))
        assert len(hashes) == 12
        assert threading.current_thread().name not in seen
        assert 1 <= len(seen) <= 2 and all(name.startswith("collabcode-bcrypt") for name in seen)
    finally:
        hasher.close()


async def test_too_many_waiting_hashes_get_503() -> None:
    from collabcode.errors import ServiceUnavailable

    hasher = PasswordHasher(4, max_pending=2)
    gate = threading.Event()

    def blocked(password: bytes, salt: bytes) -> bytes:
        gate.wait(5)
        return b""

    try:
        first = [asyncio.create_task(hasher._run(blocked, b"x", b"y")) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(ServiceUnavailable):
            await hasher.hash("another password")
        gate.set()
        await asyncio.gather(*first)
    finally:
        gate.set()
        hasher.close()

"""Sessions as refresh-token families, on both databases: rotation, reuse, the two-tab grace
window, lifetimes, tickets, and revocation reaching sockets in every process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from collabcode.auth.events import ClientInfo
from collabcode.auth.passwords import PasswordHasher
from collabcode.auth.service import AuthService, SignIn
from collabcode.auth.tokens import TokenRejected
from collabcode.clock import FakeClock
from collabcode.db import Database
from collabcode.errors import Unauthorized
from collabcode.instance_secrets import InstanceSecrets
from collabcode.pubsub import MemoryBus, MemoryHub
from collabcode.ratelimit import MemoryRateLimiter
from collabcode.realtime.connections import ConnectionRegistry, OpenSocket
from collabcode.settings import Settings

PASSWORD = "correct horse battery"
CLIENT = ClientInfo(ip="192.0.2.10", user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
SECRETS = InstanceSecrets("j" * 48, "r" * 48, "t" * 48, "h" * 48)


@dataclass
class Process:
    """One collabcode process: its service, broker and open sockets."""

    service: AuthService
    bus: MemoryBus
    connections: ConnectionRegistry


class SocketStub:
    """A registered socket that records how it was closed."""

    def __init__(self, registry: ConnectionRegistry, user_id: str, session_id: str) -> None:
        self.closed = asyncio.Event()
        self.code: int | None = None
        self.reason = ""
        registry.add(OpenSocket("test", user_id, session_id, self._close))

    async def _close(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason
        self.closed.set()

    async def wait_closed(self, timeout: float = 5.0) -> tuple[int | None, str]:
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.code, self.reason


@pytest.fixture
async def processes(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Process, Process, FakeClock]]:
    clock, hub = FakeClock(), MemoryHub()
    settings = Settings(data_dir=tmp_path / "data", bcrypt_rounds=4)
    made: list[Process] = []
    for _ in range(2):
        bus, connections = MemoryBus(hub), ConnectionRegistry()
        await bus.start()
        service = AuthService(
            db=db,
            clock=clock,
            settings=settings,
            secrets=SECRETS,
            limiter=MemoryRateLimiter(clock),
            hasher=PasswordHasher(4),
            bus=bus,
            connections=connections,
        )
        await bus.subscribe("auth.revoked", service.on_revoked_message)
        made.append(Process(service, bus, connections))
    try:
        yield made[0], made[1], clock
    finally:
        for process in made:
            process.service.hasher.close()
            await process.bus.close()


@pytest.fixture
async def one(processes: tuple[Process, Process, FakeClock]) -> tuple[AuthService, FakeClock]:
    return processes[0].service, processes[2]


async def _signed_in(service: AuthService, username: str = "alice") -> SignIn:
    await service.create_user(
        email=f"{username}@example.com", username=username, display_name=username, password=PASSWORD, verified=True
    )
    return await service.login(login=username, password=PASSWORD, client=CLIENT)


async def _refresh_fails(service: AuthService, token: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        await service.refresh(refresh_token=token, client=CLIENT)
    assert caught.value.code == "refresh_invalid"


async def test_rotation_then_reuse_revokes_the_whole_family(one: tuple[AuthService, FakeClock]) -> None:
    service, clock = one
    first = await _signed_in(service)
    second = await service.refresh(refresh_token=first.refresh_token, client=CLIENT)
    assert second.refresh_token != first.refresh_token and second.session_id == first.session_id
    third = await service.refresh(refresh_token=second.refresh_token, client=CLIENT)
    clock.advance(11)
    await _refresh_fails(service, first.refresh_token)  # a stolen, long-rotated token comes back
    await _refresh_fails(service, third.refresh_token)  # the newest token dies with its family
    with pytest.raises(TokenRejected) as caught:
        await service.identity_for_access_token(third.access_token)
    assert caught.value.reason == "session_revoked"
    assert not await service.session_alive(first.session_id)


async def test_reuse_of_an_older_ancestor_is_caught_even_within_the_window(one: tuple[AuthService, FakeClock]) -> None:
    service, _clock = one
    first = await _signed_in(service)
    second = await service.refresh(refresh_token=first.refresh_token, client=CLIENT)
    await service.refresh(refresh_token=second.refresh_token, client=CLIENT)
    # first is no longer the newest token's parent: no grace for it.
    await _refresh_fails(service, first.refresh_token)
    assert not await service.session_alive(first.session_id)


async def test_two_tabs_refreshing_within_the_grace_window_share_the_new_token(
    one: tuple[AuthService, FakeClock],
) -> None:
    service, clock = one
    first = await _signed_in(service)
    tab_one = await service.refresh(refresh_token=first.refresh_token, client=CLIENT)
    clock.advance(9)
    tab_two = await service.refresh(refresh_token=first.refresh_token, client=CLIENT)
    assert tab_two.refresh_token == tab_one.refresh_token
    assert (await service.identity_for_access_token(tab_two.access_token)).session_id == first.session_id
    after = await service.refresh(refresh_token=tab_two.refresh_token, client=CLIENT)
    assert await service.session_alive(after.session_id)


async def test_concurrent_refreshes_of_one_token_both_succeed(one: tuple[AuthService, FakeClock]) -> None:
    service, _clock = one
    first = await _signed_in(service)
    results = await asyncio.gather(
        *(service.refresh(refresh_token=first.refresh_token, client=CLIENT) for _ in range(3))
    )
    assert len({r.refresh_token for r in results}) == 1
    assert await service.session_alive(first.session_id)


async def test_idle_and_absolute_lifetimes(one: tuple[AuthService, FakeClock]) -> None:
    service, clock = one
    idle = await _signed_in(service, "idle")
    clock.advance(7 * 86400 + 1)
    await _refresh_fails(service, idle.refresh_token)

    active = await _signed_in(service, "active")
    token = active.refresh_token
    for days in (6, 6, 6, 6, 5):  # used every few days: alive on day 29
        clock.advance(days * 86400)
        token = (await service.refresh(refresh_token=token, client=CLIENT)).refresh_token
    clock.advance(86400 + 1)
    await _refresh_fails(service, token)  # past 30 days since sign-in, however active


async def test_access_token_dies_with_its_session_at_once(one: tuple[AuthService, FakeClock]) -> None:
    service, _clock = one
    signed_in = await _signed_in(service)
    identity = await service.identity_for_access_token(signed_in.access_token)
    await service.logout(refresh_token=signed_in.refresh_token, identity=None, client=CLIENT)
    with pytest.raises(TokenRejected):
        await service.identity_for_access_token(signed_in.access_token)
    await _refresh_fails(service, signed_in.refresh_token)
    assert not await service.session_alive(identity.session_id)


async def test_tickets_are_single_use_short_lived_and_bound_to_the_session(one: tuple[AuthService, FakeClock]) -> None:
    service, clock = one
    signed_in = await _signed_in(service)
    identity = await service.identity_for_access_token(signed_in.access_token)
    ticket, ttl = await service.issue_ws_ticket(identity, CLIENT)
    assert ttl == 30
    assert (await service.identity_for_ticket(ticket)).session_id == identity.session_id
    with pytest.raises(TokenRejected, match="invalid_ticket"):
        await service.identity_for_ticket(ticket)

    late, _ = await service.issue_ws_ticket(identity, CLIENT)
    clock.advance(31)
    with pytest.raises(TokenRejected, match="invalid_ticket"):
        await service.identity_for_ticket(late)

    orphan, _ = await service.issue_ws_ticket(identity, CLIENT)
    await service.logout(refresh_token=None, identity=identity, client=CLIENT)
    with pytest.raises(TokenRejected):
        await service.identity_for_ticket(orphan)


async def test_concurrent_ticket_use_admits_exactly_one(one: tuple[AuthService, FakeClock]) -> None:
    service, _clock = one
    signed_in = await _signed_in(service)
    identity = await service.identity_for_access_token(signed_in.access_token)
    ticket, _ = await service.issue_ws_ticket(identity, CLIENT)
    results = await asyncio.gather(*(service.identity_for_ticket(ticket) for _ in range(4)), return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1


async def test_revocation_closes_sockets_here_and_in_other_processes(
    processes: tuple[Process, Process, FakeClock],
) -> None:
    here, there, _clock = processes
    signed_in = await _signed_in(here.service)
    other = await here.service.login(login="alice", password=PASSWORD, client=CLIENT)
    local = SocketStub(here.connections, signed_in.user.id, signed_in.session_id)
    remote = SocketStub(there.connections, signed_in.user.id, signed_in.session_id)
    untouched = SocketStub(there.connections, signed_in.user.id, other.session_id)

    await here.service.logout(refresh_token=signed_in.refresh_token, identity=None, client=CLIENT)

    assert await local.wait_closed() == (4401, "session_revoked")
    assert await remote.wait_closed() == (4401, "session_revoked")
    assert not untouched.closed.is_set()
    assert await here.service.session_alive(other.session_id)


async def test_disabling_a_user_closes_all_their_sockets_everywhere(
    processes: tuple[Process, Process, FakeClock],
) -> None:
    here, there, _clock = processes
    signed_in = await _signed_in(here.service)
    remote = SocketStub(there.connections, signed_in.user.id, "a-session-from-a-ticket")
    await here.service.update_user(signed_in.user.id, disabled=True)
    assert await remote.wait_closed() == (4401, "session_revoked")
    with pytest.raises(TokenRejected):
        await here.service.identity_for_access_token(signed_in.access_token)


async def test_password_change_signs_out_the_other_sessions_only(
    processes: tuple[Process, Process, FakeClock],
) -> None:
    here, there, _clock = processes
    current = await _signed_in(here.service)
    elsewhere = await here.service.login(login="alice", password=PASSWORD, client=CLIENT)
    remote = SocketStub(there.connections, current.user.id, elsewhere.session_id)
    identity = await here.service.identity_for_access_token(current.access_token)
    revoked = await here.service.change_password(identity, current=PASSWORD, new="a brand new secret", client=CLIENT)
    assert revoked == 1
    assert await remote.wait_closed() == (4401, "session_revoked")
    assert await here.service.session_alive(current.session_id)
    assert not await here.service.session_alive(elsewhere.session_id)
    await here.service.login(login="alice", password="a brand new secret", client=CLIENT)


async def test_malformed_revocation_messages_are_ignored(processes: tuple[Process, Process, FakeClock]) -> None:
    _here, there, _clock = processes
    stub = SocketStub(there.connections, "u", "s")
    for payload in (b"not json", b"[]", b'{"session_ids": "s"}', b'{"session_ids": [1, 2]}', b"{}"):
        await there.service.on_revoked_message("auth.revoked", payload)
    assert not stub.closed.is_set()
    await there.service.on_revoked_message("auth.revoked", b'{"session_ids": ["s"], "user_id": null}')
    assert await stub.wait_closed() == (4401, "session_revoked")

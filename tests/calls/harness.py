"""Helpers for the call tests, on top of the chat harness (real accounts, real sockets)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from collabcode.calls.service import CallService, calls_service
from collabcode.clock import Clock
from collabcode.db import Database
from tests.chat.harness import ChatEnv, EventsClient, Frame, Person, chat_env, eventually_async


class CallEnv(ChatEnv):
    @property
    def calls(self) -> CallService:
        return calls_service(self.services)

    async def tick(self, seconds: float = 0.0) -> None:
        """Move the fake clock (if asked) and run the timeout check once."""
        if seconds:
            self.clock.advance(seconds)
        await self.calls.tick()

    async def start(self, caller: Person, callee: Person, *, expect: int = 201, **extra: Any) -> Frame:
        body = {"callee": callee.username, "media": "video", **extra}
        response = await self.call(caller, "POST", "/api/calls", json=body, expect=expect)
        result: Frame = response.json()
        return result

    async def act(self, person: Person, call_id: str, action: str, *, expect: int = 200) -> Frame:
        response = await self.call(person, "POST", f"/api/calls/{call_id}/{action}", expect=expect)
        result: Frame = response.json()
        return result

    async def get(self, person: Person, call_id: str, *, expect: int = 200) -> Frame:
        result: Frame = (await self.call(person, "GET", f"/api/calls/{call_id}", expect=expect)).json()
        return result

    async def wait_offline(self, person: Person) -> None:
        async def offline() -> bool:
            return not await self.hub.is_online(person.id)

        await eventually_async(offline, f"{person.username} offline")

    async def workspace(self, owner: Person, *members: Person) -> str:
        created = await self.call(owner, "POST", "/api/workspaces", json={"name": "pairing"}, expect=201)
        workspace_id = str(created.json()["id"])
        for member in members:
            await self.call(
                owner,
                "POST",
                f"/api/workspaces/{workspace_id}/members",
                json={"username": member.username, "role": "editor"},
                expect=201,
            )
        return workspace_id


@asynccontextmanager
async def call_env(
    db: Database, data_dir: Path, *, clock: Clock | None = None, **settings: Any
) -> AsyncIterator[CallEnv]:
    async with chat_env(db, data_dir, live=True, clock=clock, **settings) as env:
        env.__class__ = CallEnv
        assert isinstance(env, CallEnv)
        yield env


def states(call: Frame) -> dict[str, str]:
    """username → participant state."""
    return {p["username"]: p["state"] for p in call["participants"]}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


__all__ = ["CallEnv", "EventsClient", "Frame", "Person", "call_env", "free_udp_port", "states"]

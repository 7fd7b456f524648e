"""Pairs of people with something to share: a workspace with one file both open, and their
direct conversation. Made over the real REST API (as the app does), a few pairs at a time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from loadbench.cluster import Person


@dataclass(frozen=True, slots=True)
class Pair:
    a: Person
    b: Person
    a_url: str
    b_url: str
    conversation_id: str
    workspace_id: str = ""
    file_id: str = ""


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code not in (200, 201):
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response


async def make_pair(http: httpx.AsyncClient, a: Person, b: Person, urls: tuple[str, str], *, workspace: bool) -> Pair:
    """``a`` opens the conversation (and creates the workspace, adds ``b``, creates the file)."""
    cid = _ok(await http.post(f"{urls[0]}/api/conversations", json={"username": b.username}, headers=a.headers))
    if not workspace:
        return Pair(a, b, urls[0], urls[1], cid.json()["id"])
    wid = _ok(await http.post(f"{urls[0]}/api/workspaces", json={"name": f"w {a.username}"}, headers=a.headers))
    workspace_id = wid.json()["id"]
    _ok(
        await http.post(
            f"{urls[0]}/api/workspaces/{workspace_id}/members",
            json={"username": b.username, "role": "editor"},
            headers=a.headers,
        )
    )
    created = _ok(
        await http.post(
            f"{urls[0]}/api/workspaces/{workspace_id}/files",
            json={"path": "main.py", "kind": "file"},
            headers=a.headers,
        )
    )
    return Pair(a, b, urls[0], urls[1], cid.json()["id"], workspace_id, created.json()["id"])


def placement(pair_index: int, urls: list[str]) -> tuple[str, str]:
    """Which process each partner talks to: with two processes, half the pairs straddle them
    (a's process alternates every pair, b's every two pairs), as behind a load balancer."""
    if len(urls) == 1:
        return urls[0], urls[0]
    return urls[pair_index % 2], urls[(pair_index // 2) % 2]


async def make_pairs(
    people: list[Person], urls: list[str], *, first_index: int = 0, workspace: bool, concurrency: int = 8
) -> list[Pair]:
    """people[2i], people[2i+1] become pair ``first_index + i``."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency * 2)) as http:

        async def one(i: int) -> Pair:
            async with gate:
                placed = placement(first_index + i, urls)
                return await make_pair(http, people[2 * i], people[2 * i + 1], placed, workspace=workspace)

        return list(await asyncio.gather(*(one(i) for i in range(len(people) // 2))))

"""Call signaling load: call set-ups end to end, as two browsers would do them.

One set-up: the caller posts ``POST /api/calls`` -> the callee's events socket gets
``call.ringing`` -> the callee posts ``/accept`` -> both sockets get ``call.updated`` with the
call ``active`` -> the caller sends ``rtc.offer``, relayed to the callee -> the callee sends
``rtc.answer``, relayed to the caller. The latency is from the caller's POST to the caller's
socket yielding the answer. Then the caller ends the call (``/end``) and both wait for
``call.ended`` before the pair is used again; that tear-down is not in the latency but is part
of the rate. A fixed number of set-ups run at once (a closed loop) over a pool of pairs; a
person starts at most every other call of their pair, below the per-user start limit.
With two processes every caller is on one process and every callee on the other.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from chat_bench import percentile

from loadbench.clients import EventsSocket
from loadbench.cluster import Cluster
from loadbench.rest import RestResult
from loadbench.setup import Pair, make_pairs

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
WARMUP = 1.0
TIMEOUT = 15.0


def _is(kind: str, call_id: str, state: str | None = None) -> Any:
    def match(frame: dict[str, Any]) -> bool:
        if frame.get("type") != kind:
            return False
        if kind.startswith("rtc."):
            return bool(frame.get("call_id") == call_id)
        call = frame.get("call") or {}
        return bool(call.get("id") == call_id and (state is None or call.get("state") == state))

    return match


async def _setup(http: httpx.AsyncClient, pair: Pair, sockets: dict[str, EventsSocket], flip: bool) -> float:
    caller, callee = (pair.b, pair.a) if flip else (pair.a, pair.b)
    caller_url, callee_url = (pair.b_url, pair.a_url) if flip else (pair.a_url, pair.b_url)
    caller_ws, callee_ws = sockets[caller.user_id], sockets[callee.user_id]
    ringing = callee_ws.expect(lambda f: f.get("type") == "call.ringing")
    began = time.monotonic_ns()
    started = await http.post(
        f"{caller_url}/api/calls", json={"callee": callee.username, "media": "audio"}, headers=caller.headers
    )
    if started.status_code != 201:
        ringing.cancel()
        raise RuntimeError(f"start {started.status_code}: {started.text[:200]}")
    call_id = started.json()["id"]
    await asyncio.wait_for(ringing, TIMEOUT)
    caller_active = caller_ws.expect(_is("call.updated", call_id, "active"))
    callee_active = callee_ws.expect(_is("call.updated", call_id, "active"))
    accepted = await http.post(f"{callee_url}/api/calls/{call_id}/accept", headers=callee.headers)
    if accepted.status_code != 200:
        raise RuntimeError(f"accept {accepted.status_code}: {accepted.text[:200]}")
    await asyncio.wait_for(asyncio.gather(caller_active, callee_active), TIMEOUT)
    offer = callee_ws.expect(_is("rtc.offer", call_id))
    await caller_ws.send({"type": "rtc.offer", "call_id": call_id, "to": callee.user_id, "sdp": SDP})
    await asyncio.wait_for(offer, TIMEOUT)
    answer = caller_ws.expect(_is("rtc.answer", call_id))
    await callee_ws.send({"type": "rtc.answer", "call_id": call_id, "to": caller.user_id, "sdp": SDP})
    _, answered = await asyncio.wait_for(answer, TIMEOUT)
    latency = (answered - began) / 1e9
    ended = [ws.expect(_is("call.ended", call_id)) for ws in (caller_ws, callee_ws)]
    hung_up = await http.post(f"{caller_url}/api/calls/{call_id}/end", headers=caller.headers)
    if hung_up.status_code != 200:
        raise RuntimeError(f"end {hung_up.status_code}: {hung_up.text[:200]}")
    await asyncio.wait_for(asyncio.gather(*ended), TIMEOUT)
    return latency


async def run(cluster: Cluster, pairs_count: int, concurrency: int, seconds: float) -> RestResult:
    """Set-ups per second (``ok``) and their latency, ``concurrency`` at a time."""
    urls = cluster.urls
    people = await cluster.people(2 * pairs_count, prefix="call")
    pairs = await make_pairs(people, urls, workspace=False)
    if len(urls) == 2:  # every call crosses processes: a on process 0, b on process 1
        pairs = [Pair(p.a, p.b, urls[0], urls[1], p.conversation_id) for p in pairs]
    sockets: dict[str, EventsSocket] = {}
    for pair in pairs:
        for person, url in ((pair.a, pair.a_url), (pair.b, pair.b_url)):
            sockets[person.user_id] = await EventsSocket.open(url, person)
    result = RestResult(f"call set-ups, {len(urls)} process(es)", concurrency)
    latencies: list[float] = []
    free: asyncio.Queue[tuple[Pair, int]] = asyncio.Queue()
    for pair in pairs:
        free.put_nowait((pair, 0))
    start = time.monotonic()
    counted_from, until = start + WARMUP, start + WARMUP + seconds
    try:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency * 2)) as http:

            async def worker() -> None:
                while time.monotonic() < until:
                    pair, used = await free.get()
                    began = time.monotonic()
                    try:
                        latency = await _setup(http, pair, sockets, flip=used % 2 == 1)
                    except Exception as exc:
                        key = str(exc).split(":", 1)[0] if isinstance(exc, RuntimeError) else type(exc).__name__
                        result.errors[key] = result.errors.get(key, 0) + 1
                        await asyncio.sleep(1.0)  # let whatever is half-open time out or end
                    else:
                        if began >= counted_from and time.monotonic() <= until:
                            result.ok += 1
                            latencies.append(latency)
                    free.put_nowait((pair, used + 1))

            async def window_cpu() -> None:
                await asyncio.sleep(WARMUP)
                used = time.process_time()
                await asyncio.sleep(seconds)
                result.generator_cpu_percent = round(100 * (time.process_time() - used) / seconds)

            await asyncio.gather(window_cpu(), *(worker() for _ in range(concurrency)))
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets.values()), return_exceptions=True)
    result.seconds = seconds
    result.p50_ms = percentile(latencies, 50) * 1000
    result.p99_ms = percentile(latencies, 99) * 1000
    return result

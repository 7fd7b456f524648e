"""200 random, truncated and mutated frames against a live server: no frame crashes the server or
ends in 1011, and two clients editing meanwhile keep working and converge."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import httpx
import websockets

from collabcode.collab.protocol import encode_sync_step1
from tests.collab.live import LiveApp, YClient
from tests.collab.test_fuzz import CORPUS

SEED = 4_2024
PROBE = encode_sync_step1(b"\x00")  # answered with a step 2 only if the socket is still serving


def fuzz_frames(count: int, rng: random.Random) -> list[bytes]:
    frames: list[bytes] = []
    for i in range(count):
        base = rng.choice(CORPUS)
        kind = i % 6
        if kind == 0:  # truncated valid frame
            frames.append(base[: rng.randrange(0, max(1, len(base)))])
        elif kind == 1:  # random bytes
            frames.append(rng.randbytes(rng.randrange(0, 96)))
        elif kind == 2:  # flipped bytes
            mutated = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
            frames.append(bytes(mutated))
        elif kind == 3:  # trailing garbage
            frames.append(base + rng.randbytes(rng.randrange(1, 16)))
        elif kind == 4:  # a known message type with a lying length
            frames.append(bytes([rng.choice([0, 1, 2, 3, 100]), rng.randrange(0, 3)]) + b"\xff" * rng.randrange(1, 12))
        else:  # a sync update whose payload is random
            payload = rng.randbytes(rng.randrange(0, 64))
            frames.append(b"\x00\x02" + bytes([len(payload)]) + payload)
    return frames


async def throw(url: str, frame: bytes) -> int | None:
    """Send one frame, then a probe; the close code, or None if the socket kept serving."""
    async with websockets.connect(url, open_timeout=10) as ws:
        try:
            await ws.send(frame)
            await ws.send(PROBE)
            async with asyncio.timeout(10):
                while True:
                    reply = await ws.recv()
                    if isinstance(reply, bytes) and reply[:2] == b"\x00\x01":
                        return None
        except websockets.ConnectionClosed:
            return ws.close_code


async def test_200_hostile_frames_never_crash_the_server(tmp_path: Path) -> None:
    frames = fuzz_frames(200, random.Random(SEED))
    async with LiveApp(tmp_path / "data") as live:
        alice = await YClient("alice").connect(live.url("alice"))
        bob = await YClient("bob").connect(live.url("bob"))
        expected = ""
        outcomes: Counter[int | None] = Counter()
        url = live.url("fuzzer")
        for start in range(0, len(frames), 10):
            results = await asyncio.gather(*(throw(url, f) for f in frames[start : start + 10]))
            outcomes.update(results)
            # The honest clients keep editing throughout.
            editor = alice if start % 20 else bob
            editor.type(f"{start},")
            expected += f"{start},"
            await alice.wait_text(expected)
            await bob.wait_text(expected)
        assert sum(outcomes.values()) == 200
        assert set(outcomes) <= {None, 1007, 1009}, outcomes
        assert outcomes[1007] >= 100, outcomes  # most of them really were malformed
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{live.port}") as http:
            assert (await http.get("/healthz")).status_code == 200
        await live.collab.manager.flush("ws1/file1")
        assert await live.collab.text("ws1", "file1") == expected
        await alice.close()
        await bob.close()

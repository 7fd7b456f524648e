"""Chat benchmark: N pairs chatting over ``/ws/events`` against a real ``collabcode serve``.

    python benchmarks/chat_bench.py                       # SQLite and PostgreSQL, 100 pairs, 10 s
    python benchmarks/chat_bench.py --database postgresql --pairs 100 --rate 10 --seconds 20

Each of the 2N people holds one events socket and sends ``--rate`` messages per second to their
partner (``message.send`` frames, so 2 N x rate messages per second are offered). A message's
body carries its send time; the recipient's client takes the time its ``message`` frame arrives.
Printed: messages per second received by recipients, send -> recipient-socket latency p50/p99,
send -> ``message.sent`` (acknowledged after commit) p50/p99, and errors. The first second is
warm-up and not counted. The server runs as its own process on loopback (127.0.0.1), with one
worker; the load generator is one asyncio process beside it on the same machine. Everything is
bounded: a fixed number of sockets, a fixed duration, and a hard deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import collabcode.cli  # noqa: E402, F401  (loads the admin commands in their order)
from collabcode.admin_cli import open_auth  # noqa: E402
from collabcode.auth.events import ClientInfo  # noqa: E402
from collabcode.settings import Settings  # noqa: E402

PASSWORD = "benchmark password 1"
POSTGRES_URL = os.environ.get("COLLABCODE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
WARMUP = 1.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Stats:
    started: float = 0.0
    window_start: float = 0.0
    window_end: float = 0.0
    delivered: list[float] = field(default_factory=list)
    acked: list[float] = field(default_factory=list)
    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    closed: int = 0

    def counts(self, at: float) -> bool:
        return self.window_start <= at <= self.window_end


async def make_people(settings: Settings, pairs: int) -> list[tuple[str, str]]:
    """Create 2N accounts and sign each in; returns (username, access token)."""
    people: list[tuple[str, str]] = []
    async with open_auth(settings) as service:
        for i in range(pairs * 2):
            name = f"bench{i:04d}"
            await service.create_user(
                email=f"{name}@example.com", username=name, display_name=name, password=PASSWORD, verified=True
            )
            client = ClientInfo(ip=f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}", user_agent="chat-bench")
            signed_in = await service.login(login=name, password=PASSWORD, client=client)
            people.append((name, signed_in.access_token))
    return people


async def reader(ws: ClientConnection, stats: Stats) -> None:
    try:
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "message":
                message = frame["message"]
                if message.get("status") is None and stats.counts(now):  # received, not our own echo
                    sent_at = float(message["body"].split(" ", 1)[0])
                    stats.delivered.append(now - sent_at)
            elif kind == "message.sent":
                sent_at = float(frame["message"]["body"].split(" ", 1)[0])
                if stats.counts(now):
                    stats.acked.append(now - sent_at)
            elif kind == "error":
                stats.errors[frame.get("code", "?")] = stats.errors.get(frame.get("code", "?"), 0) + 1
    except ConnectionClosed:
        stats.closed += 1


async def writer(ws: ClientConnection, cid: str, name: str, rate: float, until: float, stats: Stats) -> None:
    interval = 1.0 / rate
    # Spread the senders over the first interval so they do not all fire together.
    next_at = time.perf_counter() + secrets.randbelow(1000) / 1000 * interval
    n = 0
    try:
        while True:
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            if now >= until:
                return
            n += 1
            await ws.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "conversation_id": cid,
                        "client_id": f"{name}-{n}",
                        "body": f"{now:.6f} hello from {name}",
                    }
                )
            )
            stats.sent += 1
            next_at += interval
    except ConnectionClosed:
        return


def start_server(data_dir: Path, database_url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "COLLABCODE_BCRYPT_ROUNDS": "4",
        "COLLABCODE_LOG_LEVEL": "warning",
        "COLLABCODE_LOG_FORMAT": "json",
    }
    cmd = [sys.executable, "-m", "collabcode", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    if database_url:
        cmd += ["--database-url", database_url, "--db-pool-size", "20"]
    log = open(data_dir.parent / "server.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(data_dir.parent))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {(data_dir.parent / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start in 30 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def run_once(database: str, pairs: int, rate: float, seconds: float, compression: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="chat-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        database_url: str | None = None
        dbname = None
        if database == "postgresql":
            import asyncpg

            dbname = "chatbench_" + secrets.token_hex(4)
            admin = await asyncpg.connect(POSTGRES_URL)
            await admin.execute(f'CREATE DATABASE "{dbname}"')
            await admin.close()
            parts = urlsplit(POSTGRES_URL)
            database_url = urlunsplit(parts._replace(path="/" + dbname))
        try:
            settings = Settings(data_dir=data_dir, database_url=database_url, bcrypt_rounds=4)
            people = await make_people(settings, pairs)
            process, url = start_server(data_dir, database_url)
            try:
                return await load(url, people, pairs, rate, seconds, compression, process.pid)
            finally:
                stop_server(process)
                if os.environ.get("CHAT_BENCH_SERVER_LOG"):
                    Path(os.environ["CHAT_BENCH_SERVER_LOG"]).write_bytes((data_dir.parent / "server.log").read_bytes())
        finally:
            if dbname is not None:
                import asyncpg

                admin = await asyncpg.connect(POSTGRES_URL)
                await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                await admin.close()


async def load(
    url: str,
    people: list[tuple[str, str]],
    pairs: int,
    rate: float,
    seconds: float,
    compression: bool,
    server_pid: int,
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        conversations: list[str] = []
        for i in range(pairs):
            (_, token), (partner, _) = people[2 * i], people[2 * i + 1]
            r = await http.post(
                "/api/conversations", json={"username": partner}, headers={"authorization": f"Bearer {token}"}
            )
            r.raise_for_status()
            conversations.append(r.json()["id"])
    ws_url = url.replace("http://", "ws://") + "/ws/events"
    sockets: list[ClientConnection] = []
    for _, token in people:
        sockets.append(
            await connect(
                ws_url, additional_headers={"authorization": f"Bearer {token}"}, open_timeout=30, max_size=None
            )
        )
    stats = Stats()
    readers = [asyncio.create_task(reader(ws, stats)) for ws in sockets]
    start = time.perf_counter()
    stats.window_start = start + WARMUP
    stats.window_end = start + seconds
    until = start + seconds
    writers = [
        asyncio.create_task(writer(sockets[i], conversations[i // 2], people[i][0], rate, until, stats))
        for i in range(len(sockets))
    ]
    await asyncio.sleep(max(0.0, stats.window_start - time.perf_counter()))
    cpu_start, wall_start = cpu_seconds(server_pid), time.perf_counter()
    client_start = time.process_time()
    await asyncio.wait(writers)
    cpu_used, wall = cpu_seconds(server_pid) - cpu_start, time.perf_counter() - wall_start
    client_used = time.process_time() - client_start
    # Let in-flight messages land (bounded), then close.
    await asyncio.sleep(1.0)
    for ws in sockets:
        await ws.close()
    await asyncio.wait(readers, timeout=10)
    window = seconds - WARMUP
    return {
        "pairs": pairs,
        "offered_per_second": round(2 * pairs * rate),
        "received_per_second": round(len(stats.delivered) / window),
        "delivery_p50_ms": round(percentile(stats.delivered, 50) * 1000, 2),
        "delivery_p99_ms": round(percentile(stats.delivered, 99) * 1000, 2),
        "ack_p50_ms": round(percentile(stats.acked, 50) * 1000, 2),
        "ack_p99_ms": round(percentile(stats.acked, 99) * 1000, 2),
        "delivery_mean_ms": round(statistics.fmean(stats.delivered) * 1000, 2) if stats.delivered else None,
        "server_cpu_ms_per_message": round(cpu_used * 1000 / max(1, len(stats.delivered)), 3),
        "server_cpu_percent": round(100 * cpu_used / wall),
        "client_cpu_percent": round(100 * client_used / wall),
        "sent": stats.sent,
        "errors": stats.errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pairs", type=int, default=100, help="pairs of people chatting (default 100)")
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second per person (default 10)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration (default 10)")
    parser.add_argument(
        "--no-compression",
        action="store_true",
        help="clients decline permessage-deflate (browsers offer it; small JSON frames gain little from it)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not 1 <= args.pairs <= 1000 or not 0 < args.rate <= 20 or not 2 <= args.seconds <= 120:
        parser.error("keep 1-1000 pairs, a rate of at most 20/s per person (the socket limit), 2-120 s")
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = []
    for database in databases:
        figures = asyncio.run(
            asyncio.wait_for(run_once(database, args.pairs, args.rate, args.seconds, not args.no_compression), 600)
        )
        figures["database"] = database
        figures["compression"] = not args.no_compression
        results.append(figures)
        print(
            f"{database:10s} pairs={figures['pairs']} offered={figures['offered_per_second']}/s "
            f"received={figures['received_per_second']}/s "
            f"delivery p50={figures['delivery_p50_ms']} ms p99={figures['delivery_p99_ms']} ms "
            f"ack p50={figures['ack_p50_ms']} ms p99={figures['ack_p99_ms']} ms "
            f"server cpu={figures['server_cpu_percent']}% ({figures['server_cpu_ms_per_message']} ms/message) "
            f"client cpu={figures['client_cpu_percent']}% "
            f"errors={figures['errors'] or 0}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""/metrics counts what operators watch: chat messages stored and requests refused by rate limits."""

from __future__ import annotations

import re
from pathlib import Path

from collabcode.db import Database
from tests.chat.harness import chat_env


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


async def test_chat_messages_and_rate_limit_refusals_are_counted(db: Database, tmp_path: Path) -> None:
    async with chat_env(db, tmp_path / "data") as env:
        alice, bob = await env.person("alice"), await env.person("bob")
        cid = await env.open(alice, bob)
        before = _value((await env.http.get("/metrics")).text, "collabcode_chat_messages_sent_total")
        await env.send(alice, cid, "one")
        await env.send(bob, cid, "two")
        after = (await env.http.get("/metrics")).text
        assert _value(after, "collabcode_chat_messages_sent_total") == before + 2

        for _ in range(8):
            response = await env.http.post("/api/auth/login", json={"login": "alice", "password": "wrong password!"})
        assert response.status_code == 429
        scraped = (await env.http.get("/metrics")).text
        refused = re.findall(r'^collabcode_rate_limited_total\{bucket="([^"]+)"\} ([0-9.e+]+)$', scraped, re.M)
        assert refused and all(float(count) >= 1 for _bucket, count in refused), scraped[-2000:]

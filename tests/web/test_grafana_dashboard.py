"""docs/deploy/grafana-dashboard.json only queries metrics that /metrics really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from collabcode.db import Database
from tests.chat.harness import chat_env

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "grafana-dashboard.json"
SUFFIXES = ("_bucket", "_total", "_sum", "_count")


async def test_every_dashboard_metric_is_exported(db: Database, tmp_path: Path) -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    wanted = {name for p in panels for t in p["targets"] for name in re.findall(r"collabcode_[a-z_]+", t["expr"])}
    async with chat_env(db, tmp_path / "data") as env:
        await env.http.get("/healthz")  # so the HTTP families have samples
        text = (await env.http.get("/metrics")).text
    families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    missing = sorted(
        name
        for name in wanted
        if name not in families and not any(name.endswith(s) and name[: -len(s)] in families for s in SUFFIXES)
    )
    assert not missing, f"the dashboard queries metrics /metrics does not export: {missing}"

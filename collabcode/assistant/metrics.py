"""Prometheus counters of the assistant, on the instance's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class AssistantCounters:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "collabcode_ai_requests",
            "AI assistant requests by kind (complete, chat) and outcome "
            "(ok, error, cancelled, superseded, rate_limited, busy, off).",
            ["kind", "outcome"],
            registry=registry,
        )
        self._tokens = Counter(
            "collabcode_ai_tokens",
            "Tokens (prompt + answer) used by the AI assistant, as reported by the provider or estimated.",
            ["kind"],
            registry=registry,
        )

    def request(self, kind: str, outcome: str) -> None:
        self._requests.labels(kind, outcome).inc()

    def tokens(self, kind: str, count: int) -> None:
        self._tokens.labels(kind).inc(count)

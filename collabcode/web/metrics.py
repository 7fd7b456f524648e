"""Prometheus metrics for one app instance, on its own registry (no global state)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StatsCollector(Collector):
    """Expose a ``stats()`` dict (database pool, broker) as gauges at scrape time."""

    def __init__(self, prefix: str, source: Callable[[], dict[str, float]], help_text: str) -> None:
        self.prefix, self.source, self.help_text = prefix, source, help_text

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            stats = self.source()
        except Exception:  # a scrape must never fail because a dependency is down
            return
        for key, value in sorted(stats.items()):
            if isinstance(value, int | float):
                yield GaugeMetricFamily(f"{self.prefix}_{key}", f"{self.help_text}: {key}", value=float(value))


class Metrics:
    """The metric families collabcode exports; features add theirs through ``registry``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "collabcode_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "collabcode_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.websockets_open = Gauge(
            "collabcode_websockets_open",
            "Open WebSocket connections by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_latency.labels(method, route).observe(seconds)

    def add_stats(self, prefix: str, source: Callable[[], dict[str, float]], help_text: str) -> None:
        self.registry.register(_StatsCollector(prefix, source, help_text))

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""OpenAPI operations of the operational endpoints and of the document itself (:mod:`collabcode.web`)."""

from __future__ import annotations

from collabcode.web.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    OPENAPI_PATH,
    STRING,
    Operation,
    Reply,
    enum,
    obj,
)

CHECK = obj({"ok": BOOLEAN, "kind": STRING, "error": STRING}, optional=["error"])
READY = obj({"status": enum("ready", "not_ready"), "checks": obj({"database": CHECK, "broker": CHECK})})
TAG = "operations"

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/healthz",
        "Liveness: the process serves requests",
        TAG,
        "public",
        {200: Reply("Alive.", obj({"status": {"const": "ok"}, "version": STRING}))},
        needs_services=False,
    ),
    Operation(
        "GET",
        "/readyz",
        "Readiness: the database answers and the broker is connected",
        TAG,
        "public",
        {
            200: Reply("Ready.", READY),
            503: Reply(
                "Not ready: the failing check says why in its error field.", READY, headers={"Retry-After": "Seconds."}
            ),
        },
    ),
    Operation(
        "GET",
        "/metrics",
        "Prometheus metrics",
        TAG,
        "public",
        {
            200: Reply("The Prometheus text format.", STRING, "text/plain"),
            401: Reply(
                "COLLABCODE_METRICS_TOKEN is set and the request did not bear it.",
                {"$ref": "#/components/schemas/Error"},
                headers={"WWW-Authenticate": "Bearer"},
            ),
        },
        needs_services=False,
    ),
    Operation(
        "GET",
        OPENAPI_PATH,
        "This OpenAPI document",
        TAG,
        "public",
        {200: Reply("The OpenAPI 3.1 document.", ANY_OBJECT)},
        needs_services=False,
    ),
]

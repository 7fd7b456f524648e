"""The admin pages' instance endpoints: settings (what is set, and where to change it) and health.

Users and invites are the accounts feature's (``/api/admin/users``, ``/api/admin/invites``).

**Settings.** Every setting shown here comes from the command line, the environment or ``.env``
when the server starts (docs/settings.md); none can be changed from the web while it runs, and the
API says so instead of pretending: each entry has ``editable: false`` and names its flag and
environment variable, and ``PATCH`` answers ``409 setting_read_only`` for any of them. Secrets are
never shown, only whether they are set.

**Health.** The same checks as ``collabcode admin doctor`` (:func:`collabcode.doctor.run_checks`,
the database check on this server's own connection), plus what only the running process knows:
open sockets, loaded documents, the broker's state. Results are kept for a few seconds, so
reloading the page cannot turn into a stream of probes.
"""

from __future__ import annotations

import asyncio
import platform
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collabcode import __version__, doctor
from collabcode.auth.dependencies import require_admin
from collabcode.clock import now_ms
from collabcode.errors import Conflict
from collabcode.realtime.presence import iso
from collabcode.services import Services, services_of
from collabcode.settings import SETTINGS_BY_NAME
from collabcode.social import schemas
from collabcode.web.bodies import parse_body
from collabcode.web.endpoint import endpoint

NO_STORE = {"cache-control": "no-store"}
HEALTH_CACHE_SECONDS = 5.0
_HEALTH_KEY = "social.admin_health"

#: What the admin settings page shows, in order.
SHOWN = (
    "registration",
    "public_url",
    "ai_provider",
    "ai_base_url",
    "ai_api_key",
    "ai_chat_model",
    "ai_completion_model",
    "ai_daily_token_budget",
    "turn",
    "turn_url",
    "turn_secret",
    "stun_port",
    "public_host",
    "smtp_url",
    "redis_url",
    "max_upload_bytes",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def settings_view(services: Services) -> dict[str, Any]:
    settings = services.settings
    entries: dict[str, Any] = {}
    for name in SHOWN:
        setting = SETTINGS_BY_NAME.get(name)
        if setting is None:
            continue
        value = getattr(settings, name, None)
        entry: dict[str, Any] = {
            "editable": False,
            "source": "default" if value == setting.default else "configured",
            "flag": setting.flag,
            "env": list(setting.env_names),
            "help": setting.help,
        }
        if setting.secret:
            entry["value"] = None
            entry["is_set"] = bool(value)
        else:
            entry["value"] = _jsonable(value)
        entries[name] = entry
    provider = getattr(settings, "ai_provider", "off")
    return {
        "settings": entries,
        "ai_enabled": provider != "off",
        "changes_need_restart": True,
    }


@endpoint
async def get_settings(request: Request) -> Response:
    await require_admin(request)
    return JSONResponse(settings_view(services_of(request)), headers=NO_STORE)


@endpoint
async def update_settings(request: Request) -> Response:
    await require_admin(request)
    body = await parse_body(request, schemas.SettingsUpdate)
    for name in sorted(body.model_fields_set):
        setting = SETTINGS_BY_NAME[name]
        where = " or ".join(x for x in (setting.flag, setting.env_names[0]) if x)
        raise Conflict(
            f"{name} is read from the server's configuration at start; set {where} and restart.",
            code="setting_read_only",
            details={"field": name, "rule": "read_only", "flag": setting.flag, "env": list(setting.env_names)},
        )
    return JSONResponse(settings_view(services_of(request)), headers=NO_STORE)


async def _health(services: Services) -> dict[str, Any]:
    checks = await doctor.run_checks(services.settings, db=services.db)
    collab = services.extras.get("collab")
    rooms = len(collab.manager.doc_ids) if collab is not None else None
    bus = services.bus
    return {
        "ok": all(check.ok for check in checks),
        "versions": {"collabcode": __version__, "python": platform.python_version()},
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
        "process": {
            "uptime_seconds": round(max(0.0, services.clock.now() - services.started_at)),
            "open_sockets": {
                "events": services.connections.count("events"),
                "collab": services.connections.count("collab"),
            },
            "rooms_loaded": rooms,
            "broker": {"kind": bus.kind, "healthy": bus.healthy},
        },
        "checked_at": iso(now_ms(services.clock)),
    }


async def health_summary(services: Services) -> dict[str, Any]:
    """The health facts, computed at most once per :data:`HEALTH_CACHE_SECONDS` per process."""
    state = services.extras.setdefault(_HEALTH_KEY, {"lock": asyncio.Lock(), "at": 0.0, "value": None})
    async with state["lock"]:
        if state["value"] is None or services.clock.monotonic() - state["at"] > HEALTH_CACHE_SECONDS:
            state["value"] = await _health(services)
            state["at"] = services.clock.monotonic()
        value: dict[str, Any] = state["value"]
        return value


@endpoint
async def health(request: Request) -> Response:
    await require_admin(request)
    return JSONResponse(await health_summary(services_of(request)), headers=NO_STORE)


routes: list[BaseRoute] = [
    Route("/api/admin/settings", get_settings, methods=["GET"]),
    Route("/api/admin/settings", update_settings, methods=["PATCH"]),
    Route("/api/admin/health", health, methods=["GET"]),
]

"""``collabcode admin doctor``: the checks an operator runs when something looks wrong."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from collabcode.settings import ConfigError, Settings, redact_url

if TYPE_CHECKING:
    from collabcode.db import Database

CHECK_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def _check_database(settings: Settings, live: Database | None = None) -> Check:
    """Connect with the settings' URL, or ask ``live`` (a running server's own connection)."""
    from collabcode.db import current_version, migrate, open_database

    url = settings.resolved_database_url
    label = redact_url(url) if live is None else f"{live.dialect} (this server's connection)"
    try:
        db = live if live is not None else open_database(url, pool_size=1)
    except ValueError as exc:
        return Check("database", False, f"invalid URL: {exc}")
    try:
        if live is None:
            await asyncio.wait_for(db.connect(), CHECK_TIMEOUT)
        try:
            await asyncio.wait_for(db.ping(), CHECK_TIMEOUT)
            version = await current_version(db)
            pending = await migrate(db, dry_run=True)
        finally:
            if live is None:
                await db.close()
    except Exception as exc:
        return Check("database", False, f"{label}: {_reason(exc)}")
    if pending:
        return Check(
            "database",
            False,
            f"{label}: schema version {version}, {len(pending)} migration(s) pending; run `collabcode admin migrate`",
        )
    return Check("database", True, f"{label}: reachable, schema version {version}")


async def _check_broker(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("broker", True, "in-process (single process; pass --redis-url to run several)")
    import redis.asyncio as aioredis

    label = redact_url(settings.redis_url)
    client = aioredis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT)
    except Exception as exc:
        return Check("broker", False, f"{label}: {_reason(exc)}")
    finally:
        await client.aclose()
    return Check("broker", True, f"{label}: reachable")


def _check_data_dir(settings: Settings) -> Check:
    from collabcode.instance_secrets import SECRETS_FILE, ensure_data_dir

    try:
        ensure_data_dir(settings.data_dir)
        secrets = settings.data_dir / SECRETS_FILE
        if secrets.exists() and secrets.stat().st_mode & 0o077:
            return Check("data directory", False, f"{secrets} is readable by other users; chmod 600 it")
    except ConfigError as exc:
        return Check("data directory", False, str(exc))
    except OSError as exc:
        return Check("data directory", False, f"{settings.data_dir}: {exc.strerror}")
    return Check("data directory", True, str(settings.data_dir))


async def _check_assistant(settings: Settings) -> Check:
    from collabcode.assistant.doctor import check_provider

    ok, detail = await check_provider(settings)
    return Check("AI assistant", ok, detail)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT:.0f} s"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


async def _check_turn(settings: Settings) -> Check:
    from collabcode.calls.diagnose import check_turn, turn_target
    from collabcode.instance_secrets import load_or_create_secrets

    if turn_target(settings) is None:
        return Check("turn", True, "not configured (pass --turn, or --turn-url with COLLABCODE_TURN_SECRET)")
    try:
        secret = load_or_create_secrets(settings).turn_secret
    except (ConfigError, OSError) as exc:
        return Check("turn", False, f"no TURN secret: {_reason(exc)}")
    ok, detail = await check_turn(settings, secret, CHECK_TIMEOUT)
    return Check("turn", ok, detail)


async def run_checks(settings: Settings, *, db: Database | None = None) -> list[Check]:
    """Every check, in the order an operator would fix them (``db``: a running server's own)."""
    results = [Check("configuration", True, f"public URL {settings.base_url}"), _check_data_dir(settings)]
    results.append(await _check_database(settings, db))
    results.append(await _check_broker(settings))
    results.append(await _check_assistant(settings))
    results.append(await _check_turn(settings))
    return results

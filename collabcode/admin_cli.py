"""``collabcode admin users|invites|sessions``: accounts from a shell, against serve's storage.

Attached to the ``admin`` group at the end of ``collabcode/cli.py`` (import it through there).

Each command opens the database with the same settings as ``serve`` (flags, environment,
``.env``), applies pending migrations, runs one service call and closes. USER arguments accept
an id, an email address or a username. Revocations are announced on Redis when ``--redis-url``
is set, so running servers close the affected sockets at once; without Redis they notice at the
next request (access tokens are checked against the session on every call).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from collabcode.cli import _storage_label, fail, storage_command
from collabcode.settings import SETTINGS_BY_NAME, Settings

if TYPE_CHECKING:
    from collabcode.auth.service import AuthService

T = TypeVar("T")


def _out() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


@asynccontextmanager
async def open_auth(settings: Settings) -> AsyncIterator[AuthService]:
    """An AuthService on the instance's database, secrets and (if configured) Redis."""
    from collabcode.auth.passwords import PasswordHasher
    from collabcode.auth.service import AuthService
    from collabcode.clock import SystemClock
    from collabcode.db import migrate, open_database
    from collabcode.instance_secrets import load_or_create_secrets
    from collabcode.pubsub import Bus, create_bus
    from collabcode.ratelimit import MemoryRateLimiter

    secrets = load_or_create_secrets(settings)
    db = open_database(settings.resolved_database_url, pool_size=2)
    await db.connect()
    bus: Bus | None = None
    hasher = PasswordHasher(settings.bcrypt_rounds)
    try:
        await migrate(db)
        if settings.redis_url:
            bus = create_bus(settings.redis_url)
            await bus.start()
        clock = SystemClock()
        yield AuthService(
            db=db,
            clock=clock,
            settings=settings,
            secrets=secrets,
            limiter=MemoryRateLimiter(clock),
            hasher=hasher,
            bus=bus,
        )
    finally:
        hasher.close()
        if bus is not None:
            await bus.close()
        await db.close()


def run(settings: Settings, action: Callable[[AuthService], Awaitable[T]]) -> T:
    """Run one service call; turn the expected failures into one line and a non-zero exit."""
    from collabcode.db import DatabaseUnavailable, MigrationError
    from collabcode.errors import AppError
    from collabcode.settings import ConfigError

    async def main() -> T:
        async with open_auth(settings) as service:
            return await action(service)

    coroutine: Coroutine[Any, Any, T] = main()
    try:
        return asyncio.run(coroutine)
    except AppError as exc:
        fail(exc.message, 1)
    except ConfigError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(str(exc))
    except DatabaseUnavailable as exc:
        fail(f"cannot reach the database ({_storage_label(settings)}): {exc}", 1)
    except MigrationError as exc:
        fail(f"cannot migrate the database ({_storage_label(settings)}): {exc}", 1)


def _with_public_url(settings: Settings, public_url: str | None) -> Settings:
    """Links printed by the CLI use --public-url, else the configured public URL."""
    if public_url is None:
        return settings
    try:
        parsed = SETTINGS_BY_NAME["public_url"].parse(public_url)
    except ValueError as exc:
        fail(f"invalid --public-url: {exc}")
    return dataclasses.replace(settings, public_url=parsed)


_public_url_option = click.option(
    "--public-url",
    default=None,
    metavar="URL",
    help=SETTINGS_BY_NAME["public_url"].help + " [env: COLLABCODE_PUBLIC_URL]",
)


def _read_password() -> str:
    """A password from standard input: one line, trailing newline removed."""
    text = sys.stdin.read()
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):
        text = text[:-1]
    if not text:
        fail("no password on standard input")
    return text


# --------------------------------------------------------------------------- users


users: click.Group = click.Group("users", help="List, create and manage accounts.")


@users.command("list")
@click.option("--query", "-q", default=None, help="Only users whose username, email or name contains this.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@storage_command
def users_list(settings: Settings, query: str | None, limit: int) -> None:
    """List accounts."""
    found = run(settings, lambda s: s.list_users(query=query, limit=limit))
    table = Table(show_header=True, header_style="bold")
    for column in ("id", "username", "email", "name", "role", "verified", "disabled", "created"):
        table.add_column(column, overflow="fold")
    for user in found:
        table.add_row(
            user.id,
            user.username,
            user.email,
            user.display_name,
            user.role,
            "yes" if user.email_verified else "no",
            "yes" if user.disabled else "no",
            _when(user.created_at),
        )
    _out().print(table)
    click.echo(f"{len(found)} user(s)")


@users.command("create")
@click.argument("email")
@click.option("--username", required=True, help="3-32 characters: a-z, 0-9, '_' and '-'.")
@click.option("--display-name", default=None, help="Shown to others (default: the username).")
@click.option("--admin", "make_admin", is_flag=True, help="Make the account an instance admin.")
@click.option("--verified", is_flag=True, help="Mark the email address as verified.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (non-interactive).")
@_public_url_option
@storage_command
def users_create(
    settings: Settings,
    email: str,
    username: str,
    display_name: str | None,
    make_admin: bool,
    verified: bool,
    password_stdin: bool,
    public_url: str | None,
) -> None:
    """Create an account. Without --password-stdin, prints a link to choose a password."""
    from collabcode.auth.validation import (
        InputRejected,
        normalize_display_name,
        normalize_email,
        normalize_username,
    )

    settings = _with_public_url(settings, public_url)
    try:
        email_n = normalize_email(email)
        username_n = normalize_username(username)
        name = normalize_display_name(display_name if display_name is not None else username_n)
    except InputRejected as exc:
        fail(f"{exc.field}: {exc.message}")
    password = _read_password() if password_stdin else None

    async def create(service: AuthService) -> tuple[str, str, str | None]:
        user = await service.create_user(
            email=email_n,
            username=username_n,
            display_name=name,
            password=password,
            role="admin" if make_admin else "member",
            verified=verified,
        )
        link = None if password is not None else await service.reset_link(user.id)
        return user.id, user.role, link

    user_id, role, link = run(settings, create)
    click.echo(f"created {role} {username_n} <{email_n}> (id {user_id})")
    if link:
        click.echo(f"set-password link (valid 1 hour, works once): {link}")
    if not verified:
        click.echo(f"the email address is not verified yet; `collabcode admin users verify {username_n}` marks it")


@users.command("set-role")
@click.argument("user")
@click.argument("role", type=click.Choice(["admin", "member"]))
@storage_command
def users_set_role(settings: Settings, user: str, role: str) -> None:
    """Make a user an admin or a member."""

    async def action(service: AuthService) -> str:
        target = await service.find_user(user)
        updated = await service.update_user(target.id, role="admin" if role == "admin" else "member")
        return updated.username

    click.echo(f"{run(settings, action)} is now {role}")


@users.command("disable")
@click.argument("user")
@storage_command
def users_disable(settings: Settings, user: str) -> None:
    """Disable an account and sign it out everywhere."""

    async def action(service: AuthService) -> str:
        target = await service.find_user(user)
        return (await service.update_user(target.id, disabled=True)).username

    click.echo(f"{run(settings, action)} is disabled and signed out everywhere")


@users.command("enable")
@click.argument("user")
@storage_command
def users_enable(settings: Settings, user: str) -> None:
    """Enable a disabled account."""

    async def action(service: AuthService) -> str:
        target = await service.find_user(user)
        return (await service.update_user(target.id, disabled=False)).username

    click.echo(f"{run(settings, action)} is enabled")


@users.command("verify")
@click.argument("user")
@storage_command
def users_verify(settings: Settings, user: str) -> None:
    """Mark a user's email address as verified."""

    async def action(service: AuthService) -> str:
        target = await service.find_user(user)
        return (await service.set_verified(target.id)).email

    click.echo(f"{run(settings, action)} is verified")


@users.command("reset-password")
@click.argument("user")
@click.option("--password-stdin", is_flag=True, help="Set the password read from standard input instead.")
@_public_url_option
@storage_command
def users_reset_password(settings: Settings, user: str, password_stdin: bool, public_url: str | None) -> None:
    """Print a one-time link to choose a new password (or set one from stdin)."""
    settings = _with_public_url(settings, public_url)
    password = _read_password() if password_stdin else None

    async def action(service: AuthService) -> str:
        target = await service.find_user(user)
        if password is None:
            return await service.reset_link(target.id)
        revoked = await service.set_password(target.id, password)
        return f"password set for {target.username}; {revoked} session(s) signed out"

    result = run(settings, action)
    if password is None:
        click.echo(f"reset link (valid 1 hour, works once): {result}")
    else:
        click.echo(result)


# --------------------------------------------------------------------------- invites


invites: click.Group = click.Group("invites", help="Invite links for sign-up.")


@invites.command("create")
@click.option("--expires-in-hours", default=168, show_default=True, type=click.IntRange(1, 720))
@click.option("--max-uses", default=1, show_default=True, type=click.IntRange(1, 1000))
@_public_url_option
@storage_command
def invites_create(settings: Settings, expires_in_hours: int, max_uses: int, public_url: str | None) -> None:
    """Create an invite link."""
    settings = _with_public_url(settings, public_url)
    created = run(
        settings, lambda s: s.create_invite(actor=None, expires_in=expires_in_hours * 3600, max_uses=max_uses)
    )
    click.echo(f"invite {created.invite.id}: {max_uses} use(s), expires {_when(created.invite.expires_at)}")
    click.echo(created.url)


@invites.command("list")
@storage_command
def invites_list(settings: Settings) -> None:
    """List invites (their links are shown only when created)."""

    async def action(service: AuthService) -> tuple[list[Any], int]:
        return await service.list_invites(), service.now_ms()

    found, now = run(settings, action)
    table = Table(show_header=True, header_style="bold")
    for column in ("id", "status", "uses", "expires", "created", "created by"):
        table.add_column(column, overflow="fold")
    for invite in found:
        table.add_row(
            invite.id,
            invite.status(now),
            f"{invite.uses}/{invite.max_uses}",
            _when(invite.expires_at),
            _when(invite.created_at),
            invite.created_by or "(cli)",
        )
    _out().print(table)
    click.echo(f"{len(found)} invite(s)")


@invites.command("revoke")
@click.argument("invite_id")
@storage_command
def invites_revoke(settings: Settings, invite_id: str) -> None:
    """Revoke an invite so it can no longer be used."""
    run(settings, lambda s: s.revoke_invite(invite_id))
    click.echo(f"invite {invite_id} revoked")


# --------------------------------------------------------------------------- sessions


sessions: click.Group = click.Group("sessions", help="Signed-in sessions.")


@sessions.command("list")
@click.option("--user", "user_ref", default=None, help="Only this user's sessions (id, email or username).")
@storage_command
def sessions_list(settings: Settings, user_ref: str | None) -> None:
    """List live sessions."""
    from collabcode.auth.devices import describe

    async def action(service: AuthService) -> list[Any]:
        user_id = (await service.find_user(user_ref)).id if user_ref else None
        return await service.all_sessions(user_id=user_id)

    found = run(settings, action)
    table = Table(show_header=True, header_style="bold")
    for column in ("id", "user", "device", "ip", "created", "last seen"):
        table.add_column(column, overflow="fold")
    for session in found:
        table.add_row(
            session.id,
            session.user_id,
            describe(session.user_agent),
            session.ip,
            _when(session.created_at),
            _when(session.last_seen_at),
        )
    _out().print(table)
    click.echo(f"{len(found)} session(s)")


@sessions.command("revoke")
@click.argument("session_id")
@storage_command
def sessions_revoke(settings: Settings, session_id: str) -> None:
    """Sign a session out (its sockets are closed, its tokens stop working)."""
    if not run(settings, lambda s: s.admin_revoke_session(session_id)):
        fail(f"no live session {session_id}", 1)
    click.echo(f"session {session_id} revoked")

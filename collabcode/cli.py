"""The ``collabcode`` command: ``serve`` runs the platform, ``admin`` manages it from a shell."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from collabcode import __version__
from collabcode.settings import SETTINGS, SETTINGS_BY_NAME, ConfigError, Settings, load_settings, redact_url

F = TypeVar("F", bound=Callable[..., Any])

console = Console(stderr=True, highlight=False)

STORAGE_SETTINGS = ("data_dir", "database_url", "redis_url")


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr, then exit: the contract for bad configuration."""
    click.echo(f"collabcode: error: {message}", err=True)
    sys.exit(code)


def _setting_options(names: tuple[str, ...]) -> Callable[[F], F]:
    """Click options generated from the settings table, so help and validation never drift."""

    def decorate(func: F) -> F:
        for name in reversed(names):
            setting = SETTINGS_BY_NAME[name]
            assert setting.flag is not None
            env_hint = ", ".join(setting.env_names)
            if setting.switch:
                help_text = f"{setting.help} [env: {env_hint}]"
                func = click.option(setting.flag, name, is_flag=True, flag_value="true", default=None, help=help_text)(
                    func
                )
                continue
            func = click.option(
                setting.flag,
                name,
                default=None,
                metavar=setting.metavar,
                help=f"{setting.help} [env: {env_hint}]",
            )(func)
        return func

    return decorate


def _settings_from(options: dict[str, Any]) -> Settings:
    try:
        return load_settings({k: v for k, v in options.items() if k in SETTINGS_BY_NAME})
    except ConfigError as exc:
        fail(str(exc))


def _storage_label(settings: Settings) -> str:
    url = settings.resolved_database_url
    return f"SQLite {url.removeprefix('sqlite:///')}" if url.startswith("sqlite") else f"PostgreSQL {redact_url(url)}"


def _rtc_label(settings: Settings) -> str:
    from collabcode.calls.ice import builtin_stun_enabled, managed_turn
    from collabcode.calls.turn import listen_host

    host = listen_host(settings)
    stun = f"STUN udp {host}:{settings.stun_port}" if builtin_stun_enabled(settings) else "no built-in STUN"
    if managed_turn(settings):
        turn = f"TURN (coturn) {host}:{settings.turn_port}, relay udp {settings.turn_min_port}-{settings.turn_max_port}"
    elif settings.turn_url:
        turn = f"external TURN {', '.join(settings.turn_url)}"
    else:
        turn = "no TURN (pass --turn)"
    return f"{stun}; {turn}"


def _broker_label(settings: Settings) -> str:
    return f"Redis {redact_url(settings.redis_url)}" if settings.redis_url else "in-process (single process)"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="collabcode")
def main() -> None:
    """collabcode: a self-hostable collaborative coding platform."""


SERVE_SETTINGS = tuple(s.name for s in SETTINGS if s.flag)


@main.command()
@_setting_options(SERVE_SETTINGS)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    envvar="COLLABCODE_WORKERS",
    metavar="N",
    help="Server processes sharing the port; above 1 needs PostgreSQL and --redis-url. [env: COLLABCODE_WORKERS]",
)
@click.option("--worker-fd", type=int, default=None, hidden=True)
def serve(workers: int, worker_fd: int | None, **options: Any) -> None:
    """Run the whole platform: HTTP API, WebSockets, and the web app."""
    settings = _settings_from(options)
    from collabcode import workers as pool

    if workers > 1 and (problem := pool.multi_process_problem(settings)):
        fail(problem)
    from collabcode.calls.network import RtcNetwork, check_rtc_settings

    try:
        check_rtc_settings(settings)
    except ConfigError as exc:
        fail(str(exc))
    from collabcode.instance_secrets import load_or_create_secrets
    from collabcode.logs import configure_logging, redactor

    configure_logging(settings.log_format, settings.log_level)
    try:
        secrets = load_or_create_secrets(settings)
    except ConfigError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot use data directory {settings.data_dir}: {exc.strerror}; pass --data-dir to choose another")
    redactor.add([*secrets.values(), settings.ai_api_key])
    if worker_fd is not None:  # one of the processes of --workers N; the parent migrated already
        sys.exit(pool.serve_worker(settings, worker_fd))
    applied = asyncio.run(_prepare_database(settings))

    from collabcode.app import create_app
    from collabcode.server import build_server

    table = Table.grid(padding=(0, 2))
    table.add_row("[bold]URL[/]", f"[link={settings.base_url}]{settings.base_url}[/link]")
    table.add_row("Storage", _storage_label(settings))
    table.add_row("Broker", _broker_label(settings))
    table.add_row("Data", str(settings.data_dir))
    table.add_row("Calls", _rtc_label(settings))
    if workers > 1:
        table.add_row("Workers", f"{workers} processes")
    if applied:
        table.add_row("Migrations", f"applied {len(applied)}: {', '.join(applied)}")
    console.print(Panel(table, title=f"collabcode {__version__}", expand=False, border_style="cyan"))
    from collabcode.clock import SystemClock

    rtc = RtcNetwork(settings, secrets.turn_secret, SystemClock())
    if workers > 1:
        try:
            listener = pool.bind_listener(settings.host, settings.port)
        except OSError as exc:
            fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}; pass --port to choose another", 1)
        sys.exit(pool.run_workers(settings, pool.serve_args(options), workers, listener, [rtc]))
    server = build_server(create_app(settings), settings, [rtc])
    try:
        server.run()
    except OSError as exc:
        fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}; pass --port to choose another", 1)
    if not server.started:
        sys.exit(3)


async def _prepare_database(settings: Settings) -> list[str]:
    """Connect and migrate before serving, so a bad URL fails with one line, not a traceback."""
    from collabcode.db import DatabaseUnavailable, MigrationError, migrate, open_database

    try:
        db = open_database(settings.resolved_database_url, pool_size=1)
    except ValueError as exc:
        fail(f"invalid database URL: {exc}")
    try:
        await db.connect()
        try:
            return await migrate(db)
        finally:
            await db.close()
    except DatabaseUnavailable as exc:
        fail(f"cannot reach the database ({_storage_label(settings)}): {exc}", 1)
    except MigrationError as exc:
        fail(f"cannot migrate the database ({_storage_label(settings)}): {exc}", 1)


# --------------------------------------------------------------------------- admin


@main.group()
def admin() -> None:
    """Manage an instance from a shell (uses the same settings as serve)."""


def storage_command(func: F) -> F:
    """Give an admin command the storage options and resolved Settings as first argument."""

    @functools.wraps(func)
    def wrapper(**options: Any) -> Any:
        settings = _settings_from({k: options.pop(k) for k in STORAGE_SETTINGS if k in options})
        return func(settings, **options)

    return _setting_options(STORAGE_SETTINGS)(wrapper)  # type: ignore[return-value]


@admin.command("migrate")
@click.option("--dry-run", is_flag=True, help="List pending migrations without applying them.")
@storage_command
def admin_migrate(settings: Settings, dry_run: bool) -> None:
    """Apply pending database migrations."""
    from collabcode.db import DatabaseUnavailable, MigrationError, migrate, open_database

    async def run() -> list[str]:
        db = open_database(settings.resolved_database_url, pool_size=1)
        await db.connect()
        try:
            return await migrate(db, dry_run=dry_run)
        finally:
            await db.close()

    try:
        names = asyncio.run(run())
    except ValueError as exc:
        fail(str(exc))
    except DatabaseUnavailable as exc:
        fail(f"cannot reach the database ({_storage_label(settings)}): {exc}", 1)
    except MigrationError as exc:
        fail(f"migration failed ({_storage_label(settings)}): {exc}", 1)
    verb = "would apply" if dry_run else "applied"
    click.echo(f"{verb} {len(names)} migration(s){': ' + ', '.join(names) if names else ''}")


@admin.command("doctor")
@storage_command
def admin_doctor(settings: Settings) -> None:
    """Check configuration, database and broker; exit 1 if anything fails."""
    from collabcode.doctor import run_checks

    results = asyncio.run(run_checks(settings))
    table = Table(show_header=True, header_style="bold")
    table.add_column("check")
    table.add_column("result")
    table.add_column("details", overflow="fold")
    for check in results:
        table.add_row(check.name, "[green]ok[/]" if check.ok else "[red]FAIL[/]", check.detail)
    Console(highlight=False, width=None if sys.stdout.isatty() else 140).print(table)
    failed = [c for c in results if not c.ok]
    if failed:
        click.echo(f"collabcode: {len(failed)} check(s) failed: {', '.join(c.name for c in failed)}", err=True)
        sys.exit(1)
    click.echo("all checks passed")


from collabcode.admin_cli import invites, sessions, users  # noqa: E402  (accounts: users, invites, sessions)

admin.add_command(users)
admin.add_command(invites)
admin.add_command(sessions)

from collabcode.backup_cli import backup, restore  # noqa: E402  (operations: backup, restore)

admin.add_command(backup)
admin.add_command(restore)

from collabcode.export_cli import export_user  # noqa: E402  (operations: a user's data for access requests)

admin.add_command(export_user)

"""``collabcode admin export-user USER``: one user's data as JSON, for a data-access request."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from collabcode.admin_cli import run
from collabcode.cli import fail, storage_command
from collabcode.settings import Settings

if TYPE_CHECKING:
    from collabcode.auth.service import AuthService


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only; never overwrite an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} already exists; choose a new file name")
    except OSError as exc:
        fail(f"cannot create {path}: {exc.strerror}", 1)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _export_user(settings: Settings, user: str, output: Path | None) -> None:
    """Export USER's own data (id, email or username) as JSON.

    For data-access requests: profile, sessions, workspaces and roles, entries they created,
    messages they sent (and the ids of those they received), blocks, follows, calls, assistant
    usage. No password or token hashes. See docs/operations.md for exactly what is included.
    """
    from collabcode.clock import SystemClock, now_ms
    from collabcode.export import export_user as build

    async def action(service: AuthService) -> dict[str, Any]:
        target = await service.find_user(user)
        return await build(service.db, target.id, now_ms=now_ms(SystemClock()))

    data = run(settings, action)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    _write_private(output, text)
    click.echo(f"exported {data['account']['profile']['username']} to {output}", err=True)


_output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this new file (mode 0600) instead of standard output.",
)
export_user: click.Command = click.command("export-user")(
    click.argument("user")(_output_option(storage_command(_export_user)))
)

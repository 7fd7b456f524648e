"""``collabcode admin backup`` and ``admin restore``: the whole instance to one file and back."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from collabcode.backup import BackupError, create_backup, restore_backup
from collabcode.cli import fail, storage_command
from collabcode.settings import Settings


def _progress(console: Console, what: str) -> Progress:
    return Progress(
        TextColumn(what), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(), console=console, transient=True
    )


def _backup(settings: Settings, path: Path) -> None:
    """Write a backup of the database and data directory to PATH (a new file).

    Safe while the instance serves: SQLite is copied with its online backup API, PostgreSQL
    with pg_dump. The file holds the instance secrets; keep it as private as the data directory.
    """
    console = Console(stderr=True)
    with _progress(console, "backing up") as bar:
        task = bar.add_task("backup", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            summary = create_backup(settings, path, progress=advance)
        except BackupError as exc:
            fail(str(exc), 1)
    click.echo(f"backup written: {summary.path} ({summary.engine}, {summary.files} files, {summary.size:,} bytes)")


def _restore(settings: Settings, path: Path) -> None:
    """Restore the backup at PATH into a new data directory (and an empty database).

    Every file is checked against the backup's checksums before anything is written. Start
    the instance afterwards; pending migrations of a newer collabcode run at start as usual.
    """
    console = Console(stderr=True)
    with _progress(console, "restoring") as bar:
        task = bar.add_task("restore", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            summary = restore_backup(settings, path, progress=advance)
        except BackupError as exc:
            fail(str(exc), 1)
    click.echo(f"restored {summary.engine} backup into {settings.data_dir} ({summary.files} files)")


_path_argument = click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
backup: click.Command = click.command("backup")(_path_argument(storage_command(_backup)))
restore: click.Command = click.command("restore")(_path_argument(storage_command(_restore)))

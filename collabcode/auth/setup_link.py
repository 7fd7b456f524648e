"""Showing the first-run setup link to the operator: the one secret meant to be printed.

While an instance has no users, each start creates a link (valid 24 hours, usable once) that
creates the first admin. It goes to the terminal (rich, stderr) and to the log, because the
operator may only see one of them (a service manager, ``docker logs``).
"""

from __future__ import annotations

import logging

from rich.console import Console
from rich.panel import Panel

log = logging.getLogger(__name__)


def announce(url: str, hours: int, console: Console | None = None) -> None:
    out = console or Console(stderr=True, highlight=False)
    out.print(
        Panel(
            f"No account exists yet. Open the link below to create the first admin.\n"
            f"It works once and expires in {hours} hours; a restart prints a new one.",
            title="collabcode first-run setup",
            border_style="yellow",
            expand=False,
        )
    )
    out.print(url, soft_wrap=True, markup=False, highlight=False)
    log.info("first-run setup link (creates the first admin): %s", url, extra={"event": "auth.setup_link"})

"""Outgoing mail: SMTP when configured, otherwise printed to the console and the log.

Sending happens off the request path (``MailQueue``): a handler enqueues and answers at once, so
a slow or failing mail server can neither stall a request nor reveal, through timing, whether an
account exists.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

from rich.console import Console
from rich.panel import Panel

from collabcode.settings import Settings, redact_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Deliver one message or raise."""


class ConsoleMailer:
    """For a first run without SMTP: show the mail (and its links) to the operator."""

    def __init__(self, mail_from: str, console: Console | None = None) -> None:
        self.mail_from = mail_from
        self.console = console or Console(stderr=True, highlight=False)
        self.sent: list[Mail] = []

    async def send(self, mail: Mail) -> None:
        self.sent.append(mail)
        del self.sent[:-100]
        self.console.print(Panel(mail.text, title=f"mail to {mail.to}: {mail.subject}", expand=False))
        # Mail in console mode is how operators get links without SMTP: the link is logged on purpose.
        log.info("mail (console mode) to %s: %s\n%s", mail.to, mail.subject, mail.text, extra={"event": "mail.console"})


class SmtpMailer:
    """SMTP with STARTTLS (``smtp://``, when offered) or implicit TLS (``smtps://``)."""

    def __init__(self, url: str, mail_from: str, timeout: float = 15.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.mail_from = mail_from
        self.timeout = timeout
        self.display = redact_url(url)

    async def send(self, mail: Mail) -> None:
        import aiosmtplib

        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.mail_from.rsplit("@", 1)[-1].strip("> ") or "localhost")
        message.set_content(mail.text)
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.implicit_tls,
            start_tls=None if not self.implicit_tls else False,
            timeout=self.timeout,
        )


def create_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_from)
    return ConsoleMailer(settings.mail_from)


class MailQueue:
    """Send mail in the background with retries; never blocks or fails the caller."""

    def __init__(self, mailer: Mailer, *, attempts: int = 3, max_pending: int = 1000) -> None:
        self.mailer = mailer
        self.attempts = attempts
        self._queue: asyncio.Queue[Mail] = asyncio.Queue(max_pending)
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="collabcode-mail")

    def enqueue(self, mail: Mail) -> bool:
        try:
            self._queue.put_nowait(mail)
        except asyncio.QueueFull:
            log.warning("mail queue full; dropping mail to %s", mail.to, extra={"event": "mail.dropped"})
            return False
        self._idle.clear()
        return True

    async def drain(self) -> None:
        """Wait until everything queued so far was handled (tests, shutdown)."""
        await self._idle.wait()

    async def close(self) -> None:
        if self._task is not None:
            try:
                await asyncio.wait_for(self.drain(), 5.0)
            except TimeoutError:
                log.warning("closing with %s mail(s) unsent", self._queue.qsize())
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            mail = await self._queue.get()
            for attempt in range(1, self.attempts + 1):
                try:
                    await self.mailer.send(mail)
                    break
                except Exception as exc:
                    log.warning(
                        "sending mail failed (attempt %s of %s): %s",
                        attempt,
                        self.attempts,
                        type(exc).__name__,
                        extra={"event": "mail.failed"},
                    )
                    if attempt < self.attempts:
                        await asyncio.sleep(min(30.0, 2.0**attempt))
            self._queue.task_done()
            if self._queue.empty():
                self._idle.set()

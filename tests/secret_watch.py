"""A pytest plugin that watches the whole test run for leaked secrets (issue #11).

While the session runs it records

- every log record of the test process, formatted the way production writes it (the package's
  redaction filter, then :class:`~collabcode.logs.JsonFormatter`: message, ``extra`` fields and
  exception text), at INFO and above (the production default level);
- every HTTP response (status, headers except ``set-cookie``, body) and every WebSocket frame and
  close reason sent by an app built with :func:`collabcode.app.create_app` in the test process
  (the factory is wrapped so each app gets :class:`RecordingMiddleware` as its outermost layer);

and learns the secrets as they appear: each app's instance secrets and secret settings (JWT
secrets, ticket and hash keys, TURN secret, AI API key, passwords in SMTP/database/Redis URLs),
every refresh token (from ``set-cookie`` and from request cookies) and every password sent in a
JSON request body (any field whose name contains "password").

``tests/test_zz_secret_grep.py`` runs last (see :func:`pytest_collection_modifyitems`), adds the
``*.log`` files of server subprocesses under the session's temporary directory (searched for the
secrets in the ``secrets.json`` beside them and, for servers started by
``tests.conftest.start_server``, the credentials passed by flag or environment), and fails on
any secret (raw, URL-encoded, JSON-escaped or base64-encoded) found in a record.

Bounded: bodies and frames are cut at 256 KiB each and recording stops once 200 M characters
(about 200 MB) are held; what was dropped is counted and reported. Secrets shorter than 8
characters or made of fewer than 5 distinct characters, and common passwords (the package's own
list), are not learned: they would match by chance.

Matching stays cheap by scope: a secret is searched for (as a substring, every encoding) in the
records of the tests where it was seen, and, as a tokens-only backstop, anywhere in the run.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import collabcode.app
from collabcode.auth.passwords import common_passwords
from collabcode.auth.routes import DEV_COOKIE, SECURE_COOKIE
from collabcode.logs import JsonFormatter, redactor
from collabcode.settings import SETTINGS

MAX_RECORDED_CHARS = 200 * 1024 * 1024
MAX_ITEM_CHARS = 256 * 1024
MAX_REQUEST_BODY = 1024 * 1024
MIN_SECRET_CHARS = 8
MIN_DISTINCT_CHARS = 5  # "00000000" (fuzzed input) would match any long number
GREP_TEST = "test_no_secret_in_any_log_or_response"
REFRESH_COOKIES = (DEV_COOKIE, SECURE_COOKIE)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,}")
# URL and JSON escapes glue their hex digits or letter to a neighbouring token: split there.
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\[nrtbf]")
_SEPARATOR = "\n\x00\n"
_REFRESH_COOKIE = re.compile(
    r"(?:^|[;,]\s*)(?:" + "|".join(map(re.escape, REFRESH_COOKIES)) + r')="?([A-Za-z0-9_-]{32,128})"?(?:$|[;,\s])'
)


@dataclass(frozen=True)
class Recorded:
    """One thing the run wrote: a log line, a response, a frame, a server log file."""

    kind: str
    label: str
    text: str


@dataclass(frozen=True)
class Hit:
    """A secret found where it must never be."""

    secret_kind: str
    form: str
    record: Recorded
    scope: str

    def describe(self) -> str:
        secret = self._mask(self.form)
        at = self.record.text.find(self.form)
        excerpt = self.record.text[max(0, at - 60) : at + len(self.form) + 60].replace(self.form, secret)
        return f"{self.secret_kind} ({secret}) in {self.record.kind} {self.record.label} [{self.scope}]: {excerpt!r}"

    @staticmethod
    def _mask(value: str) -> str:
        return value[:4] + "…" if len(value) > 4 else "…"


@dataclass
class Recorder:
    """What the run wrote and which secrets it knows, grouped by scope (the current test)."""

    limit: int = MAX_RECORDED_CHARS
    scope: str = "session"
    records: dict[str, list[Recorded]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    recorded_chars: int = 0
    dropped_chars: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    #: Server subprocess log file (resolved path) -> the credentials that server was started with.
    launched: dict[str, list[str]] = field(default_factory=dict)
    #: Request paths and queries as clients sent them, by scope.
    request_targets: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, kind: str, label: str, text: str, scope: str | None = None) -> None:
        """Keep ``text`` unless the memory cap is reached (then only count it)."""
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if self.recorded_chars + len(text) > self.limit:
                self.dropped_chars += len(text)
                return
            self.recorded_chars += len(text)
            self.records.setdefault(scope or self.scope, []).append(Recorded(kind, label, text))

    def learn(self, value: str | None, kind: str, scope: str | None = None) -> None:
        if not value or len(value) < MIN_SECRET_CHARS or len(set(value)) < MIN_DISTINCT_CHARS:
            return
        if kind == "password" and value.lower() in common_passwords():
            return
        with self._lock:
            self.secrets.setdefault(scope or self.scope, {}).setdefault(value, kind)

    def note_request_target(self, target: str) -> None:
        """Keep a request's path and query: what the client itself put in a URL (capped like records)."""
        with self._lock:
            if self.recorded_chars + len(target) > self.limit:
                return
            self.recorded_chars += len(target)
            self.request_targets.setdefault(self.scope, []).append(target)

    def leakable_secrets(self) -> dict[str, dict[str, str]]:
        """The secrets, less passwords a client itself sent in a URL (a fuzzer reuses its strings).

        Such a value is in the access log and in echoed paths because the client chose to put it
        there; the server did not leak it.
        """
        result: dict[str, dict[str, str]] = {}
        for scope, known in self.secrets.items():
            sent = _SEPARATOR.join(self.request_targets.get(scope, []))
            result[scope] = {
                value: kind
                for value, kind in known.items()
                if kind != "password" or not any(form in sent for form in encoded_forms(value))
            }
        return result

    def all_secrets(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for known in self.secrets.values():
            for value, kind in known.items():
                merged.setdefault(value, kind)
        return merged

    def summary(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return (
            f"secret watch: recorded {counts or 'nothing'}; {len(self.all_secrets())} secrets learned; "
            f"{self.recorded_chars / 1e6:.1f} MB kept, {self.dropped_chars / 1e6:.1f} MB over the cap not kept"
        )


# -- finding secrets ---------------------------------------------------------------------------


def encoded_forms(secret: str) -> set[str]:
    """The ways a secret can appear in text: as is, URL-encoded, JSON-escaped, base64 (std, url)."""
    raw = secret.encode("utf-8", "surrogatepass")  # fuzzed bodies carry lone surrogates
    forms = {
        secret,
        quote(secret, safe="", errors="surrogatepass"),
        quote_plus(secret, safe="", errors="surrogatepass"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


def find_leaks(records: dict[str, list[Recorded]], secrets: dict[str, dict[str, str]]) -> list[Hit]:
    """Every secret (in any encoding) in any record.

    Each scope's secrets are searched for as substrings in that scope's records; token-shaped
    secrets are also looked up among the token runs of every record, which catches a secret
    seen in one test and leaked in another.
    """
    hits: dict[tuple[str, str, int], Hit] = {}
    for scope, recorded in records.items():
        forms = [(form, kind) for value, kind in secrets.get(scope, {}).items() for form in encoded_forms(value)]
        if not forms:
            continue
        joined = _SEPARATOR.join(r.text for r in recorded)
        for form, kind in forms:
            if form in joined:
                for record in recorded:
                    if form in record.text:
                        hits.setdefault((form, scope, id(record)), Hit(kind, form, record, scope))
    tokens: dict[str, str] = {}
    for known in secrets.values():
        for value, kind in known.items():
            for form in encoded_forms(value):
                if _TOKEN.fullmatch(form):
                    tokens.setdefault(form, kind)
    for scope, recorded in records.items():
        for record in recorded:
            for token in set(_TOKEN.findall(_ESCAPE.sub(" ", record.text))):
                if token in tokens:
                    hits.setdefault((token, scope, id(record)), Hit(tokens[token], token, record, scope))
    return list(hits.values())


# -- learning secrets --------------------------------------------------------------------------


def settings_secrets(settings: Any) -> Iterator[str]:
    """The credential values in a Settings object (the settings table marks them ``secret``)."""
    for setting in SETTINGS:
        value = getattr(settings, setting.name, None)
        if setting.secret and isinstance(value, str):
            yield from _credential(value)


def launch_secrets(args: Sequence[str], env: Mapping[str, str] | None) -> Iterator[str]:
    """The credential values a ``collabcode serve`` subprocess gets by flag or environment."""
    for setting in SETTINGS:
        if not setting.secret:
            continue
        values = [env[name] for name in setting.env_names if env and name in env]
        for i, arg in enumerate(args):
            if setting.flag and arg == setting.flag and i + 1 < len(args):
                values.append(args[i + 1])
            elif setting.flag and arg.startswith(setting.flag + "="):
                values.append(arg.split("=", 1)[1])
        for value in values:
            yield from _credential(value)


def _credential(value: str) -> Iterator[str]:
    """A URL's password, or the value itself."""
    if "://" not in value:
        yield value
        return
    try:
        password = urlsplit(value).password
    except ValueError:
        password = None
    if password:
        yield password


def password_fields(value: Any) -> Iterator[str]:
    """String values of every field named like a password, at any depth of decoded JSON."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and "password" in key.lower() and isinstance(child, str):
                    yield child
                else:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def refresh_tokens(cookie_headers: Iterable[str]) -> Iterator[str]:
    """Refresh-token values in ``Cookie`` or ``Set-Cookie`` header values."""
    for header in cookie_headers:
        yield from _REFRESH_COOKIE.findall(header)


def _text(data: bytes) -> str:
    return data[:MAX_ITEM_CHARS].decode("utf-8", "replace")


# -- recording ---------------------------------------------------------------------------------


class RecordingMiddleware:
    """Outermost layer of a watched app: records what it sends, learns the secrets it meets."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder
        self._app_secrets: list[tuple[str, str]] | None = None
        self._scopes: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        self._learn_app_secrets(scope)
        self._learn_request_cookies(scope)
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        query = scope.get("query_string", b"")
        target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        self.recorder.note_request_target(target)
        self.recorder.note_request_target(unquote(target, errors="surrogatepass"))
        label = f"{scope.get('method', 'WEBSOCKET')} {scope.get('path', '')}"
        if scope["type"] == "http":
            receive = self._watch_body(scope, receive)
        await self.app(scope, receive, self._watch_send(label, send))

    def _learn_app_secrets(self, scope: Scope) -> None:
        recorder = self.recorder
        if self._app_secrets is None:
            state = scope["app"].state
            services = getattr(state, "services", None)
            if services is None:
                return  # lifespan not run (yet): nothing to learn
            learned = [(v, "instance secret") for v in services.secrets.values()]
            learned += [(v, "secret setting") for v in settings_secrets(state.settings)]
            self._app_secrets = learned
        if recorder.scope not in self._scopes:
            self._scopes.add(recorder.scope)
            for value, kind in self._app_secrets:
                recorder.learn(value, kind)

    def _learn_request_cookies(self, scope: Scope) -> None:
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                for token in refresh_tokens([value.decode("latin-1")]):
                    self.recorder.learn(token, "refresh token")

    def _watch_body(self, scope: Scope, receive: Receive) -> Receive:
        headers = dict(scope.get("headers", []))
        if not headers.get(b"content-type", b"").lower().startswith(b"application/json"):
            return receive
        chunks: list[bytes] = []
        size = 0

        async def watched() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request" and size <= MAX_REQUEST_BODY:
                body = message.get("body", b"")
                chunks.append(body)
                size += len(body)
                if not message.get("more_body", False) and size <= MAX_REQUEST_BODY:
                    self._learn_passwords(b"".join(chunks))
            return message

        return watched

    def _learn_passwords(self, body: bytes) -> None:
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return
        for password in password_fields(value):
            self.recorder.learn(password, "password")

    def _watch_send(self, label: str, send: Send) -> Send:
        tap = _ResponseTap(self.recorder, label)

        async def watched(message: Message) -> None:
            tap.see(message)
            await send(message)

        return watched


class _ResponseTap:
    """Collects one response (head without ``set-cookie``, first 256 KiB of body) or a socket's frames."""

    def __init__(self, recorder: Recorder, label: str) -> None:
        self.recorder = recorder
        self.label = label
        self.head: list[str] = []
        self.body: list[bytes] = []
        self.size = 0

    def see(self, message: Message) -> None:
        kind = message["type"]
        if kind in {"http.response.start", "websocket.http.response.start"}:
            self._start(message)
        elif kind in {"http.response.body", "websocket.http.response.body"}:
            chunk = message.get("body", b"")
            if self.size < MAX_ITEM_CHARS:
                self.body.append(chunk[: MAX_ITEM_CHARS - self.size])
            self.size += len(chunk)
            if not message.get("more_body", False):
                # The first head line is the caller's own request line (a label): only what the
                # server sent (headers and body) is searched.
                text = "\n".join(self.head[1:]) + "\n\n" + _text(b"".join(self.body))
                self.recorder.record("response", self.head[0] if self.head else self.label, text)
        elif kind == "websocket.send":
            data = message.get("text")
            text = data[:MAX_ITEM_CHARS] if isinstance(data, str) else _text(message.get("bytes") or b"")
            self.recorder.record("websocket frame", self.label, text)
        elif kind == "websocket.close" and message.get("reason"):
            self.recorder.record("websocket close", self.label, str(message["reason"]))

    def _start(self, message: Message) -> None:
        cookies: list[str] = []
        self.head.append(f"{self.label} {message.get('status')}")
        for name, value in message.get("headers", []):
            text = value.decode("latin-1")
            if name.lower() == b"set-cookie":
                cookies.append(text)
            else:
                self.head.append(f"{name.decode('latin-1')}: {text}")
        for token in refresh_tokens(cookies):
            self.recorder.learn(token, "refresh token")


class RecordingLogHandler(logging.Handler):
    """Formats every record as production would (redaction, then JSON) and keeps the line."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(logging.NOTSET)
        self.recorder = recorder
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            copy = logging.makeLogRecord(dict(vars(record)))  # the redaction filter edits records
            redactor.filter(copy)
            self.recorder.record("log", record.name, self.format(copy))
        except Exception:
            self.handleError(record)


def watch_create_app(recorder: Recorder) -> Callable[..., Any]:
    """Wrap ``create_app`` so every app it builds records into ``recorder``."""
    original = ORIGINAL_CREATE_APP

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        app.add_middleware(RecordingMiddleware, recorder=recorder)
        return app

    create_app.__doc__ = original.__doc__
    create_app.__wrapped__ = original  # type: ignore[attr-defined]
    return create_app


def watch_start_server(recorder: Recorder, original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``tests.conftest.start_server`` to remember the credentials each server got."""

    def start_server(data_dir: Path, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
        server = original(data_dir, *args, env=env, **kwargs)
        recorder.launched[str(Path(server.log_path).resolve())] = list(launch_secrets(args, env))
        return server

    start_server.__doc__ = original.__doc__
    start_server.__wrapped__ = original  # type: ignore[attr-defined]
    return start_server


def add_server_files(recorder: Recorder, base: Path) -> int:
    """Record the ``*.log`` files under ``base`` and learn every ``secrets.json`` there.

    Both are scoped by the first directory below ``base`` (one test's ``tmp_path``), so a server
    subprocess's log is searched for that server's own secrets, and for those it was started
    with (see :func:`watch_start_server`). Returns the files read.
    """
    read = 0
    for path in sorted(base.rglob("secrets.json")):
        try:
            values = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(values, dict):
            for value in values.values():
                if isinstance(value, str):
                    recorder.learn(value, "instance secret", scope=_file_scope(base, path))
        read += 1
    for path in sorted(base.rglob("*.log")):
        try:
            with path.open("rb") as fh:
                text = _text(fh.read(MAX_ITEM_CHARS * 32))
        except OSError:
            continue
        scope = _file_scope(base, path)
        recorder.record("server log file", str(path.relative_to(base)), text, scope=scope)
        for value in recorder.launched.get(str(path.resolve()), []):
            recorder.learn(value, "server setting", scope=scope)
        read += 1
    return read


def _file_scope(base: Path, path: Path) -> str:
    return "files:" + path.relative_to(base).parts[0]


# -- the plugin --------------------------------------------------------------------------------

RECORDER = Recorder()
ORIGINAL_CREATE_APP: Callable[..., Any] = getattr(collabcode.app.create_app, "__wrapped__", collabcode.app.create_app)
_HANDLER = RecordingLogHandler(RECORDER)


def _install() -> None:
    """Wrap ``create_app`` (everywhere it is already bound) and ``start_server``; attach the log handler."""
    wrapped = watch_create_app(RECORDER)
    for module in list(sys.modules.values()):
        if getattr(module, "create_app", None) is ORIGINAL_CREATE_APP:
            module.create_app = wrapped  # type: ignore[union-attr]
    conftest = sys.modules.get("tests.conftest")
    start = getattr(conftest, "start_server", None)
    if start is not None and not hasattr(start, "__wrapped__"):
        conftest.start_server = watch_start_server(RECORDER, start)  # type: ignore[union-attr]
    _attach_handler()


def _attach_handler() -> None:
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)


def pytest_configure(config: pytest.Config) -> None:
    _install()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The grep runs after everything else, browser tests included."""
    items.sort(key=lambda item: getattr(item, "originalname", item.name) == GREP_TEST)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    _attach_handler()  # a test may have reset logging
    RECORDER.scope = item.nodeid
    try:
        yield
    finally:
        RECORDER.scope = "session"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if RECORDER.counts:
        terminalreporter.write_line(RECORDER.summary())

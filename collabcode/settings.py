"""The one declared table of settings.

Each :class:`Setting` names its type, default, environment variables, command-line flag and help.
The same table drives ``collabcode serve --help``, start-up validation and ``docs/settings.md``
(a test fails when a setting is undocumented). Precedence: flags > environment > ``.env`` >
defaults. Invalid values raise :class:`ConfigError` with one line that says what and how to fix.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting has an invalid value; the message is one line, fit for a terminal."""


def _parse_int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not lo <= value <= hi:
            raise ValueError(f"expected a number from {lo} to {hi}, got {value}")
        return value

    return parse


def _parse_float(lo: float, hi: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(str(raw).strip())
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if not lo <= value <= hi:
            raise ValueError(f"expected a number from {lo} to {hi}, got {value}")
        return value

    return parse


def _parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = str(raw).strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


def _parse_path(raw: str) -> Path:
    text = str(raw).strip()
    if not text or "\x00" in text:
        raise ValueError("expected a directory path")
    return Path(text).expanduser().resolve()


def _parse_optional_url(*schemes: str) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        text = str(raw).strip()
        if not text:
            return None
        parts = urlsplit(text)
        if parts.scheme not in schemes:
            raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}")
        if not parts.netloc and parts.scheme not in {"sqlite"}:
            raise ValueError("the URL has no host")
        return text

    return parse


def _parse_public_url(raw: str) -> str | None:
    text = str(raw).strip().rstrip("/")
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("expected an absolute http:// or https:// URL, e.g. https://code.example.com")
    if parts.path or parts.query or parts.fragment:
        raise ValueError("serving under a sub-path is not supported; give only scheme, host and port")
    return text


def _parse_host(raw: str) -> str:
    text = str(raw).strip()
    if not text or any(c.isspace() for c in text):
        raise ValueError("expected a host name or IP address")
    return text


def _parse_proxies(raw: str) -> tuple[str, ...]:
    items = tuple(p.strip() for p in str(raw).replace(";", ",").split(",") if p.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"expected IP addresses or networks, got {item!r}") from None
    return items


def _parse_origins(raw: str) -> tuple[str, ...]:
    items = tuple(o.strip().rstrip("/") for o in str(raw).split(",") if o.strip())
    for item in items:
        parts = urlsplit(item)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path:
            raise ValueError(f"expected origins like https://code.example.com, got {item!r}")
    return items


def _parse_secret(raw: str) -> str | None:
    text = str(raw).strip()
    if not text:
        return None
    if len(text.encode()) < 32:
        raise ValueError(
            "must be at least 32 bytes of random text (e.g. `python -c 'import secrets;print(secrets.token_urlsafe(48))'`)"
        )
    return text


def _parse_optional_text(raw: str) -> str | None:
    text = str(raw).strip()
    return text or None


def _parse_switch(raw: str) -> bool:
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _parse_optional_host(raw: str) -> str | None:
    import re

    text = str(raw).strip().strip("[]")
    if not text:
        return None
    if not re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", text):
        raise ValueError(f"expected a host name or IP address (no scheme, port or path), got {raw!r}")
    return text


def _parse_turn_urls(raw: str) -> tuple[str, ...]:
    import re

    items = tuple(u.strip() for u in str(raw).split(",") if u.strip())
    for item in items:
        if not re.fullmatch(r"turns?:[A-Za-z0-9.\-\[\]:]+(\?transport=(udp|tcp))?", item):
            raise ValueError(f"expected TURN URLs like turn:turn.example.com:3478?transport=udp, got {item!r}")
    return items


def _parse_turn_secret(raw: str) -> str | None:
    text = str(raw).strip()
    if not text:
        return None
    if len(text.encode()) < 16 or any(c.isspace() for c in text):
        raise ValueError("expected the TURN server's shared secret: at least 16 bytes, no spaces")
    return text


def _parse_ai_provider(raw: str) -> str:
    text = str(raw).strip().lower() or "auto"
    return _parse_choice("auto", "off", "openai", "ollama", "llamacpp")(text)


def _parse_mail_from(raw: str) -> str:
    from email.utils import parseaddr

    text = str(raw).strip()
    _name, address = parseaddr(text)
    if "@" not in address or any(c in text for c in "\r\n\x00"):
        raise ValueError(f"expected an address like 'collabcode <noreply@example.com>', got {raw!r}")
    return text


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/collabcode``, falling back to ``~/.local/share/collabcode``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "collabcode"


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    env: tuple[str, ...] = ()
    flag: str | None = None
    secret: bool = False
    metavar: str = "TEXT"
    #: A flag that takes no value (``--turn``); the environment still takes true/false.
    switch: bool = False

    @property
    def env_names(self) -> tuple[str, ...]:
        return (f"COLLABCODE_{self.name.upper()}", *self.env)


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("host", _parse_host, "127.0.0.1", "Interface to listen on. Use 0.0.0.0 to accept connections from other machines.", flag="--host", metavar="HOST"),
    Setting("port", _parse_int(1, 65535), 8000, "TCP port for HTTP and WebSockets.", flag="--port", metavar="PORT"),
    Setting("data_dir", _parse_path, None, "Directory for the SQLite database, generated secrets and uploads (default: $XDG_DATA_HOME/collabcode).", flag="--data-dir", metavar="DIR"),
    Setting("database_url", _parse_optional_url("sqlite", "postgresql", "postgres"), None, "Database URL: sqlite:////abs/path.db or postgresql://user:pass@host:5432/db (default: SQLite in the data directory).", env=("DATABASE_URL",), flag="--database-url", secret=True, metavar="URL"),
    Setting("redis_url", _parse_optional_url("redis", "rediss", "unix"), None, "Redis URL for pub/sub between processes, e.g. redis://127.0.0.1:6379/0 (default: in-process, one process only).", env=("REDIS_URL",), flag="--redis-url", secret=True, metavar="URL"),
    Setting("public_url", _parse_public_url, None, "The address users type, e.g. https://code.example.com; used for links in mail and the allowed Origin (default: http://HOST:PORT).", flag="--public-url", metavar="URL"),
    Setting("log_format", _parse_choice("auto", "json", "console"), "auto", "Log format: json lines, a readable console, or auto (console on a terminal, json otherwise).", flag="--log-format", metavar="FORMAT"),
    Setting("log_level", _parse_choice("debug", "info", "warning", "error"), "info", "Lowest log level written.", flag="--log-level", metavar="LEVEL"),
    Setting("trusted_proxies", _parse_proxies, (), "Comma-separated IPs or networks of reverse proxies whose X-Forwarded-For/-Proto headers are trusted (default: none).", flag="--trusted-proxies", metavar="IPS"),
    Setting("allowed_origins", _parse_origins, (), "Extra browser origins allowed to make state-changing requests and open WebSockets, comma-separated (the public URL's origin is always allowed).", flag="--allowed-origins", metavar="ORIGINS"),
    Setting("max_body_bytes", _parse_int(1024, 1 << 30), 1 << 20, "Largest accepted request body in bytes for JSON API calls (larger bodies get 413 before they are read).", flag="--max-body-bytes", metavar="BYTES"),
    Setting("max_upload_bytes", _parse_int(1024, 1 << 32), 50 << 20, "Largest accepted upload (file content, workspace import) in bytes.", flag="--max-upload-bytes", metavar="BYTES"),
    Setting("request_header_timeout", _parse_float(1, 300), 10.0, "Seconds a client may take to send a request's headers, counted from connecting (or from the previous response on a kept-alive connection); slower connections are closed, so a client sending a byte at a time (Slowloris) cannot hold them.", flag="--request-header-timeout", metavar="SECONDS"),
    Setting("request_body_timeout", _parse_float(1, 3600), 60.0, "Seconds a request body may pause between two pieces before the connection is closed with 408, so a client trickling a body (a slow-body Slowloris) cannot hold it; time the server itself is not reading does not count.", flag="--request-body-timeout", metavar="SECONDS"),
    Setting("max_connections_per_ip", _parse_int(10, 1_000_000), 1000, "Open connections (HTTP and WebSocket) one client address may hold per server process; more are answered 429 and closed. Connections from --trusted-proxies are not counted: limit clients at the proxy.", flag="--max-connections-per-ip", metavar="N"),
    Setting("db_pool_size", _parse_int(1, 200), 10, "Largest number of PostgreSQL connections per process.", flag="--db-pool-size", metavar="N"),
    Setting("shutdown_timeout", _parse_float(0, 300), 10.0, "Seconds to drain connections and flush writes on SIGTERM/SIGINT before exiting.", flag="--shutdown-timeout", metavar="SECONDS"),
    Setting("tracing", _parse_switch, False, "Trace every HTTP request and WebSocket session with OpenTelemetry (needs pip install 'collabcode[tracing]'; exporters from the standard OTEL_* variables).", flag="--tracing", switch=True),
    Setting("registration", _parse_choice("open", "invite", "closed"), "invite", "Who may create an account: anyone (open), people with an invite link (invite), or nobody but admins (closed).", flag="--registration", metavar="POLICY"),
    Setting("smtp_url", _parse_optional_url("smtp", "smtps"), None, "SMTP server for mail, e.g. smtp://user:pass@mail.example.com:587 (STARTTLS) or smtps://user:pass@mail.example.com:465 (TLS). Default: mail is printed to the console and the log.", flag="--smtp-url", secret=True, metavar="URL"),
    Setting("mail_from", _parse_mail_from, "collabcode <noreply@localhost>", "The From address of the mail collabcode sends.", flag="--mail-from", metavar="ADDRESS"),
    Setting("bcrypt_rounds", _parse_int(4, 16), 12, "bcrypt cost factor for password hashes (2^N rounds). Keep the default 12 in production; lower values are for tests only.", metavar="N"),
    Setting("jwt_secret", _parse_secret, None, "Secret for signing access tokens, at least 32 bytes (default: generated on first run and kept in the data directory).", env=("JWT_SECRET",), secret=True),
    Setting("jwt_refresh_secret", _parse_secret, None, "Secret for keying refresh-token hashes, at least 32 bytes (default: generated on first run and kept in the data directory).", env=("JWT_REFRESH_SECRET",), secret=True),
    Setting("metrics_token", _parse_secret, None, "Bearer token Prometheus must send to read /metrics (Authorization: Bearer TOKEN), at least 32 bytes. Unset, /metrics answers anyone who can reach it: then restrict it at your reverse proxy.", secret=True),
    Setting("ai_api_key", _parse_optional_text, None, "API key for the AI provider, if it needs one.", env=("AI_API_KEY",), secret=True),
    Setting("ai_provider", _parse_ai_provider, "auto", "AI assistant provider: openai (any OpenAI-compatible server: OpenAI, vLLM, LM Studio), ollama, llamacpp, off, or auto (use --ai-base-url as OpenAI-compatible, else a local Ollama on 127.0.0.1:11434 if one answers at start).", flag="--ai-provider", metavar="PROVIDER"),
    Setting("ai_base_url", _parse_optional_url("http", "https"), None, "Base URL of the AI provider, e.g. https://api.openai.com, http://127.0.0.1:11434 (Ollama) or http://127.0.0.1:8080 (llama.cpp).", flag="--ai-base-url", metavar="URL"),
    Setting("ai_chat_model", _parse_optional_text, None, "Model for the assistant chat, e.g. gpt-4o-mini or qwen2.5-coder:7b (Ollama: default picked from the installed models).", flag="--ai-chat-model", metavar="MODEL"),
    Setting("ai_completion_model", _parse_optional_text, None, "Model for inline completions; must support fill-in-the-middle, e.g. qwen2.5-coder:1.5b (Ollama: default picked from the installed models).", flag="--ai-completion-model", metavar="MODEL"),
    Setting("ai_fim_template", _parse_choice("auto", "suffix", "qwen", "starcoder", "deepseek", "codellama"), "auto", "How inline completions reach an OpenAI-compatible server: suffix (the /v1/completions suffix field), a model family's fill-in-the-middle tokens (qwen, starcoder, deepseek, codellama), or auto (from the model name, else suffix).", metavar="TEMPLATE"),
    Setting("ai_complete_per_minute", _parse_int(1, 10_000), 60, "Inline completion requests each user may make per minute (bursts of a third of it).", metavar="N"),
    Setting("ai_chat_per_minute", _parse_int(1, 10_000), 12, "Assistant chat messages each user may send per minute (bursts of a third of it).", metavar="N"),
    Setting("ai_max_chat_streams", _parse_int(1, 100), 2, "Assistant chat answers each user may have streaming at once.", metavar="N"),
    Setting("ai_max_concurrent", _parse_int(1, 10_000), 8, "Assistant requests this process sends the AI provider at once (all users); more wait up to 2 s, then get 503. Size it to what the provider can serve.", metavar="N"),
    Setting("ai_daily_token_budget", _parse_int(0, 10**12), 2_000_000, "Tokens (prompt + answer) the whole instance may use per UTC day before the assistant switches off until midnight; 0 means no limit.", metavar="TOKENS"),
    Setting("ai_context_chars", _parse_int(500, 200_000), 6000, "Characters of code around the cursor (and from other open files) sent with each assistant request.", metavar="CHARS"),
    Setting("ai_completion_max_tokens", _parse_int(1, 4096), 96, "Most tokens an inline completion may generate.", metavar="N"),
    Setting("ai_chat_max_tokens", _parse_int(16, 32_768), 1024, "Most tokens one assistant chat answer may generate.", metavar="N"),
    Setting("ai_timeout", _parse_float(1, 600), 30.0, "Seconds to wait for the AI provider to connect or send the next piece of an answer (inline completions wait at most a third of it).", metavar="SECONDS"),
    Setting("public_host", _parse_optional_host, None, "Host name or IP address browsers use to reach the STUN/TURN ports (default: the host of --public-url, else the host the browser used for HTTP).", flag="--public-host", metavar="HOST"),
    Setting("rtc_host", _parse_optional_host, None, "Interface the built-in STUN server and the managed TURN server listen on (default: same as --host).", flag="--rtc-host", metavar="HOST"),
    Setting("stun_port", _parse_int(0, 65535), 3478, "UDP port of the built-in STUN server for calls; 0 turns it off.", flag="--stun-port", metavar="PORT"),
    Setting("turn", _parse_switch, False, "Run coturn (turnserver must be installed) as a supervised TURN server for calls, with a generated config in the data directory.", flag="--turn", metavar="BOOL", switch=True),
    Setting("turn_realm", _parse_optional_host, None, "TURN realm (default: the public host).", flag="--turn-realm", metavar="REALM"),
    Setting("turn_port", _parse_int(1, 65535), 3478, "UDP/TCP port the managed TURN server listens on.", flag="--turn-port", metavar="PORT"),
    Setting("turn_min_port", _parse_int(1024, 65535), 49152, "Lowest UDP port the managed TURN server relays media on.", flag="--turn-min-port", metavar="PORT"),
    Setting("turn_max_port", _parse_int(1024, 65535), 49407, "Highest UDP port the managed TURN server relays media on.", flag="--turn-max-port", metavar="PORT"),
    Setting("turn_external_ip", _parse_optional_text, None, "Public IP of the managed TURN server when it is behind NAT, as PUBLIC or PUBLIC/PRIVATE (coturn's external-ip).", flag="--turn-external-ip", metavar="IP"),
    Setting("turn_allow_private_peers", _parse_switch, False, "Let the managed TURN server relay to private (RFC 1918, unique-local) addresses; off, it refuses them so it cannot be used to reach your LAN.", flag="--turn-allow-private-peers", metavar="BOOL", switch=True),
    Setting("turn_allow_loopback_peers", _parse_switch, False, "Let the managed TURN server relay to loopback addresses. For tests on one machine only; never in production.", metavar="BOOL"),
    Setting("turn_url", _parse_turn_urls, (), "External TURN server URLs, comma-separated, e.g. turn:turn.example.com:3478?transport=udp (used instead of --turn; needs --turn-secret).", flag="--turn-url", metavar="URLS"),
    Setting("turn_secret", _parse_turn_secret, None, "Shared secret of the external TURN server (coturn static-auth-secret); the managed one uses a generated secret from the data directory.", secret=True),
    Setting("turn_ttl", _parse_int(60, 86400), 3600, "Seconds a TURN credential handed to a browser stays valid.", metavar="SECONDS"),
    Setting("history_retention_days", _parse_int(0, 36500), 30, "Days a file's history keeps every change; older changes are merged into their checkpoints. 0 keeps every change forever.", flag="--history-retention-days", metavar="DAYS"),
    Setting("history_idle_checkpoint_seconds", _parse_int(10, 86400), 120, "Seconds without edits after which a file's history gets an automatic checkpoint.", metavar="SECONDS"),
    Setting("collab_idle_unload_seconds", _parse_int(1, 86400), 30, "Seconds a document stays loaded in memory after its last editor left (it is saved first).", metavar="SECONDS"),
)
# fmt: on

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Validated configuration for one collabcode instance."""

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    public_url: str | None = None
    log_format: str = "auto"
    tracing: bool = False
    log_level: str = "info"
    trusted_proxies: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 50 << 20
    request_header_timeout: float = 10.0
    request_body_timeout: float = 60.0
    max_connections_per_ip: int = 1000
    db_pool_size: int = 10
    shutdown_timeout: float = 10.0
    registration: str = "invite"
    smtp_url: str | None = None
    mail_from: str = "collabcode <noreply@localhost>"
    bcrypt_rounds: int = 12
    jwt_secret: str | None = None
    jwt_refresh_secret: str | None = None
    metrics_token: str | None = None
    ai_api_key: str | None = None
    ai_provider: str = "auto"
    ai_base_url: str | None = None
    ai_chat_model: str | None = None
    ai_completion_model: str | None = None
    ai_fim_template: str = "auto"
    ai_complete_per_minute: int = 60
    ai_chat_per_minute: int = 12
    ai_max_chat_streams: int = 2
    ai_max_concurrent: int = 8
    ai_daily_token_budget: int = 2_000_000
    ai_context_chars: int = 6000
    ai_completion_max_tokens: int = 96
    ai_chat_max_tokens: int = 1024
    ai_timeout: float = 30.0

    public_host: str | None = None
    rtc_host: str | None = None
    stun_port: int = 3478
    turn: bool = False
    turn_realm: str | None = None
    turn_port: int = 3478
    turn_min_port: int = 49152
    turn_max_port: int = 49407
    turn_external_ip: str | None = None
    turn_allow_private_peers: bool = False
    turn_allow_loopback_peers: bool = False
    turn_url: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl: int = 3600
    history_retention_days: int = 30
    history_idle_checkpoint_seconds: int = 120
    collab_idle_unload_seconds: int = 30

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: explicit, or the SQLite file in the data directory."""
        if self.database_url:
            url = self.database_url
            return "postgresql://" + url[len("postgres://") :] if url.startswith("postgres://") else url
        return f"sqlite:///{self.data_dir / 'collabcode.db'}"

    @property
    def base_url(self) -> str:
        """Where users reach this instance (public URL, else the listen address)."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host  # noqa: S104
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def origins(self) -> frozenset[str]:
        """Browser origins allowed to call state-changing endpoints and open sockets."""
        return frozenset({self.base_url, *self.allowed_origins})

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def redacted(self) -> dict[str, Any]:
        """Settings as a dict with secrets masked: safe to print or log."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            setting = SETTINGS_BY_NAME.get(f.name)
            if setting and setting.secret and value:
                value = redact_url(value) if "://" in str(value) else "***"
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def redact_url(url: str) -> str:
    """Replace the password in a URL with ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return url.replace(parts.netloc, f"{user}@{netloc[-1]}", 1)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Resolve every setting: flags (``overrides``) > environment > ``.env`` > defaults."""
    env = dict(os.environ if environ is None else environ)
    dotenv: dict[str, str] = {}
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    if path.is_file():
        from dotenv import dotenv_values

        dotenv = {k: v for k, v in dotenv_values(path).items() if v is not None}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        source: str | None = None
        raw: Any = None
        if setting.name in overrides:
            raw, source = overrides[setting.name], setting.flag or setting.name
        else:
            for layer, layer_name in ((env, "environment variable"), (dotenv, ".env entry")):
                for env_name in setting.env_names:
                    if env_name in layer:
                        raw, source = layer[env_name], f"{layer_name} {env_name}"
                        break
                if source:
                    break
        if source is None:
            continue
        if not isinstance(raw, str):
            values[setting.name] = raw
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"invalid {source}: {exc}") from None
    values = {k: v for k, v in values.items() if v is not None}
    return Settings(**values)

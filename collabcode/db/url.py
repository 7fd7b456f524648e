"""Database URLs: which engine, where, and how to print them without the password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

EXPECTED = "expected sqlite:////absolute/path.db or postgresql://user:password@host:5432/dbname"

# Unquoted PostgreSQL identifiers that need no case folding or quoting in search_path.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})


@dataclass(frozen=True)
class SQLiteTarget:
    path: Path


@dataclass(frozen=True)
class PostgresTarget:
    dsn: str
    """The URL handed to asyncpg (collabcode's own ``schema`` option removed)."""
    schema: str | None


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe for logs and error messages."""
    parts = urlsplit(url)
    userinfo, at, hostinfo = parts.netloc.rpartition("@")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret_in_query = any(key in _SECRET_QUERY_KEYS for key, _ in pairs)
    if not (at and ":" in userinfo) and not secret_in_query:
        return url
    netloc = (
        f"{userinfo.split(':', 1)[0]}:***@{hostinfo}" if at and ":" in userinfo else parts.netloc
    )
    query = parts.query
    if secret_in_query:
        hidden = [(key, "***" if key in _SECRET_QUERY_KEYS else value) for key, value in pairs]
        query = urlencode(hidden, safe="*/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(
            f"PostgreSQL schema {schema!r} is not a plain lowercase identifier "
            "(letters, digits and _, at most 63 characters)"
        )
    return schema


def parse_database_url(url: str) -> SQLiteTarget | PostgresTarget:
    """Parse a database URL; a ``ValueError`` carries a one-line message for the operator."""
    if not url or not url.strip():
        raise ValueError(f"the database URL is empty; {EXPECTED}")
    if any(ord(char) < 32 or ord(char) == 127 for char in url):
        raise ValueError(f"the database URL contains control characters; {EXPECTED}")
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ValueError(f"{redact_url(url)!r} is not a database URL; {EXPECTED}")
    if scheme == "sqlite":
        return _parse_sqlite(url)
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(url)
    raise ValueError(f"unsupported database URL scheme {scheme!r}; {EXPECTED}")


def _parse_sqlite(url: str) -> SQLiteTarget:
    rest = url[len("sqlite://") :]
    if "?" in rest or "#" in rest:
        raise ValueError(f"SQLite URL {url!r} takes no options; {EXPECTED}")
    raw = unquote(rest)
    if raw.startswith("//"):
        # sqlite:////abs/path (SQLAlchemy style) and sqlite:///abs/path name the same file.
        raw = raw[1:]
    if not raw.startswith("/") or raw.endswith("/") or "\x00" in raw:
        raise ValueError(
            f"SQLite URL {url!r} must name an absolute file path, "
            "e.g. sqlite:////var/lib/collabcode/collabcode.db"
        )
    return SQLiteTarget(Path(raw))


def _parse_postgres(url: str) -> PostgresTarget:
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        if "," not in parts.netloc:
            parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ValueError(f"PostgreSQL URL {shown!r} has a malformed host or port") from None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in pairs if key == "schema"]
    if len(schemas) > 1:
        raise ValueError(f"PostgreSQL URL {shown!r} names more than one schema")
    schema = check_schema_name(schemas[0]) if schemas else None
    query = urlencode([(key, value) for key, value in pairs if key != "schema"])
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, query, ""))
    return PostgresTarget(dsn=dsn, schema=schema)

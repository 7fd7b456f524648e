"""Secrets generated on first run and kept in the data directory.

The file is created once with ``O_EXCL`` and mode 0600 inside a 0700 directory, then reused, so
restarting keeps everyone signed in. A secrets file other users can read is refused: a leaked
signing key lets anyone forge sessions.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from collabcode.settings import ConfigError, Settings

log = logging.getLogger(__name__)

SECRETS_FILE = "secrets.json"
# Each generated secret: 48 random bytes, URL-safe text (>= 32 bytes as SECURITY.md requires).
GENERATED = ("jwt_secret", "jwt_refresh_secret", "ticket_secret", "hash_key", "turn_secret")


@dataclass(frozen=True)
class InstanceSecrets:
    jwt_secret: str
    jwt_refresh_secret: str
    ticket_secret: str
    hash_key: str
    #: The TURN REST API shared secret: the managed coturn's, or the external server's (``turn_secret``).
    turn_secret: str = ""

    def values(self) -> list[str]:
        return [self.jwt_secret, self.jwt_refresh_secret, self.ticket_secret, self.hash_key, self.turn_secret]


def ensure_data_dir(path: Path) -> Path:
    """Create the data directory (0700) if needed and refuse one others can write to."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        raise ConfigError(f"data directory {path} is writable by other users; fix with: chmod 700 {path}")
    return path


def _read(path: Path) -> dict[str, str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"secrets file {path} is readable by other users; fix with: chmod 600 {path}")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        raise ConfigError(
            f"secrets file {path} is unreadable or corrupt; "
            "move it away to generate new secrets (this signs everyone out)"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"secrets file {path} is corrupt; move it away to generate new secrets (this signs everyone out)"
        )
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _create(path: Path, values: dict[str, str]) -> bool:
    """Write the file exclusively; False if another process created it first."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(values, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def load_or_create_secrets(settings: Settings) -> InstanceSecrets:
    """Return the instance's secrets, generating missing ones on first run."""
    data_dir = ensure_data_dir(settings.data_dir)
    path = data_dir / SECRETS_FILE
    stored = _read(path) if path.exists() else {}
    missing = [name for name in GENERATED if len(stored.get(name, "").encode()) < 32]
    if missing:
        fresh = {**stored, **{name: secrets.token_urlsafe(48) for name in missing}}
        if path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            if not _create(tmp, fresh):
                raise ConfigError(f"cannot write {tmp}")
            os.replace(tmp, path)
        elif not _create(path, fresh):
            fresh = _read(path)  # another process won the race: use its secrets
        else:
            log.info(
                "generated instance secrets", extra={"event": "secret.generated", "names": missing, "path": str(path)}
            )
        stored = fresh
    return InstanceSecrets(
        jwt_secret=settings.jwt_secret or stored["jwt_secret"],
        jwt_refresh_secret=settings.jwt_refresh_secret or stored["jwt_refresh_secret"],
        ticket_secret=stored["ticket_secret"],
        hash_key=stored["hash_key"],
        turn_secret=settings.turn_secret or stored["turn_secret"],
    )

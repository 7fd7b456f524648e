"""Passwords: the policy for new ones, and bcrypt hashing in a small bounded thread pool.

Policy (SECURITY.md 7, NIST SP 800-63B): at least 8 characters, at most 72 bytes of UTF-8 (the
bcrypt limit; longer passwords are refused, never truncated), no NUL or other control
characters, not one of the 3,000 most common passwords, not the account's own username or email.
No composition rules. Passwords are NFC-normalised before hashing and before checking, so the
same password typed on two keyboards matches.

bcrypt runs in a dedicated pool of two threads so hashing can neither block the event loop nor
take every core; at most ``max_pending`` hashes wait for it, beyond that callers get 503.
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources

import bcrypt

from collabcode.errors import ServiceUnavailable

DEFAULT_ROUNDS = 12
DEFAULT_WORKERS = 2
MIN_CHARS = 8
MAX_BYTES = 72

#: A valid cost-12 bcrypt hash of a random password nobody knows: unknown accounts are checked
#: against it so that a login for them costs exactly what a wrong password costs.
DUMMY_HASH_12 = "$2b$12$dYYorQOPd7sU.wLs3MHy3e6HKiWsl6xZZZ9uOTb8JjUtvcDYMtXIW"


class PasswordRejected(ValueError):
    """A new password breaks the policy; ``rule`` is a stable machine code."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The blocklist shipped with the package (lower-case)."""
    text = resources.files("collabcode.auth").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def normalize(password: str) -> str:
    return unicodedata.normalize("NFC", password)


def encoded(password: str) -> bytes:
    return normalize(password).encode("utf-8", "surrogatepass")


def check_policy(password: str, *, username: str | None = None, email: str | None = None) -> str:
    """The NFC form of an acceptable new password, or :class:`PasswordRejected`."""
    password = normalize(password)
    if any(unicodedata.category(c) == "Cc" for c in password):
        raise PasswordRejected("password_forbidden_character", "The password may not contain control characters.")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in password):
        raise PasswordRejected("password_forbidden_character", "The password is not valid Unicode.")
    if len(password) < MIN_CHARS:
        raise PasswordRejected("password_too_short", f"Use at least {MIN_CHARS} characters.")
    if len(password.encode("utf-8")) > MAX_BYTES:
        raise PasswordRejected(
            "password_too_long", f"Use at most {MAX_BYTES} bytes (characters outside ASCII count more)."
        )
    lowered = password.lower()
    if lowered in common_passwords():
        raise PasswordRejected("password_common", "This password is among the most common ones; choose another.")
    context = {v.lower() for v in (username, email) if v}
    if email:
        context.add(email.lower().split("@", 1)[0])
    if lowered in context:
        raise PasswordRejected("password_matches_account", "The password may not be your username or email.")
    return password


def usable_for_login(password: str) -> bool:
    """Whether a login password could match any stored hash (else: answer 401 without bcrypt)."""
    raw = encoded(password)
    return 0 < len(raw) <= MAX_BYTES and b"\x00" not in raw


class PasswordHasher:
    """bcrypt at ``rounds`` in a pool of ``workers`` threads."""

    def __init__(self, rounds: int = DEFAULT_ROUNDS, *, workers: int = DEFAULT_WORKERS, max_pending: int = 256) -> None:
        if not 4 <= rounds <= 31:
            raise ValueError(f"bcrypt rounds must be 4-31, got {rounds}")
        self.rounds = rounds
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collabcode-bcrypt")
        self._max_pending = max_pending
        self._waiting = 0
        if rounds == DEFAULT_ROUNDS:
            self.dummy_hash = DUMMY_HASH_12
        else:
            self.dummy_hash = bcrypt.hashpw(secrets.token_hex(16).encode(), bcrypt.gensalt(rounds)).decode()

    async def _run(self, func: object, *args: bytes) -> object:
        if self._waiting >= self._max_pending:
            raise ServiceUnavailable("The server is busy; try again in a moment.", retry_after=2)
        self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, func, *args)  # type: ignore[arg-type]
        finally:
            self._waiting -= 1

    async def hash(self, password: str) -> str:
        """Hash a password that passed :func:`check_policy`."""
        raw = encoded(password)
        if len(raw) > MAX_BYTES or b"\x00" in raw:
            raise ValueError("password not checked against the policy")
        salt = bcrypt.gensalt(self.rounds)
        result = await self._run(bcrypt.hashpw, raw, salt)
        assert isinstance(result, bytes)
        return result.decode("ascii")

    async def verify(self, password: str, stored: str | None) -> bool:
        """Constant work whatever ``stored`` is: a missing hash is checked against the dummy."""
        raw = encoded(password)
        target = stored if stored and stored.startswith("$2") else self.dummy_hash
        if len(raw) > MAX_BYTES or b"\x00" in raw:
            return False
        try:
            ok = await self._run(bcrypt.checkpw, raw, target.encode("ascii"))
        except ValueError:
            return False
        return bool(ok) and target is not self.dummy_hash

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

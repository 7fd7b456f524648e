"""The accounts rules: sign-up, sign-in, sessions and tokens, verification, passwords, admin.

Routes and the admin CLI call one method each; the SQL is in ``store.py``. Nothing here knows
about HTTP: failures are :mod:`collabcode.errors` exceptions the web layer renders, and client
details arrive as a :class:`ClientInfo`.

Sessions are refresh-token families. A refresh token is used once: rotating it claims the row
atomically and inserts its successor in the same transaction. Presenting a used token again
revokes the whole family, except for the immediate predecessor of the newest token within
``grace_seconds``, which gets the successor already issued (two tabs refreshing at once).
Revocations are durable first, then announced on the bus channel ``auth.revoked`` so every
process closes the affected sockets with 4401.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from collabcode.auth import mails, store
from collabcode.auth.events import ClientInfo, security_event
from collabcode.auth.identity import Identity, Role
from collabcode.auth.models import Invite, Session, User
from collabcode.auth.passwords import PasswordHasher, PasswordRejected, check_policy
from collabcode.auth.tickets import TicketBook
from collabcode.auth.tokens import (
    ACCESS_TTL_SECONDS,
    TokenRejected,
    decode_access,
    encode_access,
    keyed_hash,
    new_id,
    new_opaque_token,
    open_successor,
    seal_successor,
    well_formed,
)
from collabcode.auth.validation import default_color, login_key
from collabcode.clock import Clock, now_ms
from collabcode.db import Database, IntegrityViolation
from collabcode.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, ValidationFailed
from collabcode.instance_secrets import InstanceSecrets
from collabcode.mail import Mail
from collabcode.ratelimit import Rate, RateLimiter
from collabcode.realtime.connections import ConnectionRegistry
from collabcode.settings import Settings

if TYPE_CHECKING:
    from collabcode.pubsub import Bus
    from collabcode.services import Services

log = logging.getLogger(__name__)

REVOKED_CHANNEL = "auth.revoked"
CLOSE_REVOKED = 4401
SETUP_META_KEY = "auth.setup_completed_at"
_EXTRAS_KEY = "auth"


@dataclass(frozen=True)
class AuthPolicy:
    """Lifetimes and limits; the defaults are the documented contract (docs/auth.md)."""

    access_ttl: int = ACCESS_TTL_SECONDS
    session_absolute: int = 30 * 86400
    session_idle: int = 7 * 86400
    grace_seconds: float = 10.0
    verify_ttl: int = 48 * 3600
    reset_ttl: int = 3600
    setup_ttl: int = 24 * 3600
    ticket_ttl: int = 30
    invite_ttl_default: int = 7 * 86400
    limits: dict[str, Rate] = field(
        default_factory=lambda: {
            "login_ip": Rate(burst=30, per=2.0),
            "login_account": Rate(burst=10, per=30.0),
            "login_ip_account": Rate(burst=5, per=60.0),
            "signup_ip": Rate(burst=10, per=360.0),
            "forgot_ip": Rate(burst=5, per=300.0),
            "forgot_email": Rate(burst=3, per=600.0),
            "resend_ip": Rate(burst=5, per=300.0),
            "setup_ip": Rate(burst=10, per=60.0),
            "invite_check_ip": Rate(burst=30, per=2.0),
            "ws_ticket_user": Rate(burst=30, per=2.0),
            "password_user": Rate(burst=5, per=60.0),
        }
    )


@dataclass(frozen=True)
class SignIn:
    """A started or refreshed session: what login, refresh and setup hand back."""

    user: User
    session_id: str
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_max_age: int


@dataclass(frozen=True)
class SessionView:
    session: Session
    current: bool


@dataclass(frozen=True)
class CreatedInvite:
    invite: Invite
    token: str
    url: str


class MailSink(Protocol):
    def enqueue(self, mail: Mail) -> bool: ...


def _invalid_token() -> ValidationFailed:
    return ValidationFailed(
        "This link is invalid, expired or already used.", code="token_invalid", details={"field": "token"}
    )


def _policy_error(exc: PasswordRejected, field_name: str) -> ValidationFailed:
    return ValidationFailed(f"{field_name}: {exc.message}", details={"field": field_name, "rule": exc.rule})


def _split_joined(row: dict[str, Any]) -> tuple[Session, User]:
    session = Session.from_row({k[2:]: v for k, v in row.items() if k.startswith("s_")})
    user = User.from_row({k: v for k, v in row.items() if not k.startswith("s_")})
    return session, user


class AuthService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        settings: Settings,
        secrets: InstanceSecrets,
        limiter: RateLimiter,
        hasher: PasswordHasher,
        mail: MailSink | None = None,
        bus: Bus | None = None,
        connections: ConnectionRegistry | None = None,
        policy: AuthPolicy | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.secrets = secrets
        self.limiter = limiter
        self.hasher = hasher
        self.mail = mail
        self.bus = bus
        self.connections = connections
        self.policy = policy or AuthPolicy()
        self.tickets = TicketBook(db, clock, secrets.ticket_secret, self.policy.ticket_ttl)

    # -- helpers -------------------------------------------------------------------------------

    def _now(self) -> int:
        return now_ms(self.clock)

    def _hash(self, purpose: str, token: str) -> str:
        secret = {
            "refresh": self.secrets.jwt_refresh_secret,
            "ticket": self.secrets.ticket_secret,
        }.get(purpose, self.secrets.hash_key)
        return keyed_hash(secret, purpose, token)

    def _link(self, path: str, token: str | None = None) -> str:
        base = self.settings.base_url
        return f"{base}{path}?token={token}" if token else f"{base}{path}"

    def _send(self, mail: Mail) -> None:
        if self.mail is not None:
            self.mail.enqueue(mail)

    async def _limit(self, bucket: str, key: str, client: ClientInfo | None, *, user_id: str | None = None) -> None:
        decision = await self.limiter.hit(bucket, key, self.policy.limits[bucket])
        if not decision.allowed:
            security_event(
                "ratelimit.hit", "rate limit hit", client=client, level=logging.WARNING, bucket=bucket, user_id=user_id
            )
            if bucket.startswith("login_"):
                security_event(
                    "auth.login_throttled", "login throttled", client=client, level=logging.WARNING, bucket=bucket
                )
            raise RateLimited(decision.retry_after)

    def _access_token(self, user: User, session_id: str) -> str:
        return encode_access(
            self.secrets.jwt_secret,
            user_id=user.id,
            session_id=session_id,
            now=self.clock.now(),
            ttl=self.policy.access_ttl,
        )

    def _sign_in(self, user: User, session: Session, refresh_token: str) -> SignIn:
        now = self._now()
        idle_left = session.last_seen_at + self.policy.session_idle * 1000 - now
        max_age = max(0, min(session.expires_at - now, idle_left) // 1000)
        return SignIn(
            user=user,
            session_id=session.id,
            access_token=self._access_token(user, session.id),
            expires_in=self.policy.access_ttl,
            refresh_token=refresh_token,
            refresh_max_age=int(max_age),
        )

    async def _start_session(self, user: User, client: ClientInfo) -> SignIn:
        now = self._now()
        session_id, token = new_id(), new_opaque_token()
        expires_at = now + self.policy.session_absolute * 1000
        async with self.db.transaction("auth.start_session") as tx:
            await store.insert_session(
                tx,
                session_id=session_id,
                user_id=user.id,
                now=now,
                expires_at=expires_at,
                ip=client.ip,
                user_agent=client.user_agent,
            )
            await store.insert_refresh_token(
                tx,
                token_id=new_id(),
                session_id=session_id,
                token_hash=self._hash("refresh", token),
                parent_id=None,
                now=now,
            )
        session = Session(session_id, user.id, now, now, expires_at, client.ip, client.user_agent, None, None)
        return self._sign_in(user, session, token)

    async def _user(self, user_id: str) -> User:
        row = await store.user_by_id(self.db, user_id)
        if row is None:
            raise NotFound("No such user.")
        return User.from_row(row)

    def _check_password(self, password: str, field_name: str, *, username: str, email: str) -> str:
        try:
            return check_policy(password, username=username, email=email)
        except PasswordRejected as exc:
            raise _policy_error(exc, field_name) from None

    async def _issue_email_token(self, user: User, purpose: str, ttl: int) -> str:
        token = new_opaque_token()
        now = self._now()
        await store.insert_email_token(
            self.db,
            token_id=new_id(),
            user_id=user.id,
            purpose=purpose,
            email=user.email,
            token_hash=self._hash(purpose, token),
            now=now,
            expires_at=now + ttl * 1000,
        )
        return token

    async def _send_verification(self, user: User) -> None:
        token = await self._issue_email_token(user, "verify", self.policy.verify_ttl)
        link = self._link("/verify-email", token)
        self._send(mails.verification(user.email, link, self.policy.verify_ttl // 3600))

    # -- revocation ----------------------------------------------------------------------------

    async def close_revoked_sockets(self, session_ids: Iterable[str], user_id: str | None = None) -> int:
        """Close this process's sockets of the given sessions (or of every session of a user)."""
        if self.connections is None:
            return 0
        ids = set(session_ids)
        return await self.connections.close_where(
            lambda s: (
                (s.session_id is not None and s.session_id in ids) or (user_id is not None and s.user_id == user_id)
            ),
            CLOSE_REVOKED,
            "session_revoked",
        )

    async def announce_revoked(
        self, session_ids: list[str], *, user_id: str, reason: str, whole_user: bool = False
    ) -> None:
        """After a durable revocation: log, close local sockets, tell the other processes."""
        if not session_ids and not whole_user:
            return
        security_event(
            "auth.sessions_revoked",
            "sessions revoked",
            count=len(session_ids),
            reason=reason,
            user_id=user_id,
            session_ids=session_ids[:20],
        )
        target_user = user_id if whole_user else None
        await self.close_revoked_sockets(session_ids, target_user)
        if self.bus is not None:
            payload = json.dumps({"session_ids": session_ids, "user_id": target_user}).encode()
            await self.bus.publish(REVOKED_CHANNEL, payload)

    async def on_revoked_message(self, channel: str, payload: bytes) -> None:
        """Bus handler for ``auth.revoked`` from other processes."""
        if len(payload) > 1_000_000:
            return
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("malformed auth.revoked message ignored")
            return
        if not isinstance(data, dict):
            return
        raw_ids = data.get("session_ids")
        session_ids = [s for s in raw_ids if isinstance(s, str)] if isinstance(raw_ids, list) else []
        user_id = data.get("user_id") if isinstance(data.get("user_id"), str) else None
        await self.close_revoked_sockets(session_ids, user_id)

    # -- first run -----------------------------------------------------------------------------

    async def setup_needed(self) -> bool:
        return await store.count_users(self.db) == 0

    async def create_setup_link(self) -> str | None:
        """A fresh one-time link that creates the first admin, or None when users exist."""
        if not await self.setup_needed():
            return None
        token, now = new_opaque_token(), self._now()
        await store.insert_setup_token(
            self.db,
            token_id=new_id(),
            token_hash=self._hash("setup", token),
            now=now,
            expires_at=now + self.policy.setup_ttl * 1000,
        )
        return self._link("/setup", token)

    async def complete_setup(
        self, *, token: str, email: str, username: str, password: str, display_name: str, client: ClientInfo
    ) -> SignIn:
        await self._limit("setup_ip", client.ip, client)
        if not well_formed(token):
            raise _invalid_token()
        password = self._check_password(password, "password", username=username, email=email)
        password_hash = await self.hasher.hash(password)
        user_id, now = new_id(), self._now()
        async with self.db.transaction("auth.setup") as tx:
            if await store.consume_setup_token(tx, self._hash("setup", token), now=now) != 1:
                raise _invalid_token()
            if await store.count_users(tx) != 0 or not await store.claim_meta_flag(tx, SETUP_META_KEY, str(now)):
                raise _invalid_token()
            await store.insert_user(
                tx,
                user_id=user_id,
                email=email,
                username=username,
                display_name=display_name,
                avatar_color=default_color(user_id),
                password_hash=password_hash,
                role="admin",
                email_verified=True,
                now=now,
            )
            await store.expire_setup_tokens(tx, now=now)
        user = await self._user(user_id)
        security_event("auth.signup", "first admin created", client=client, user_id=user.id, via="setup")
        signed_in = await self._start_session(user, client)
        security_event("auth.login_ok", "signed in", client=client, user_id=user.id, session_id=signed_in.session_id)
        return signed_in

    # -- sign-up -------------------------------------------------------------------------------

    def registration(self) -> str:
        return self.settings.registration

    async def invite_usable(self, token: str, client: ClientInfo) -> bool:
        await self._limit("invite_check_ip", client.ip, client)
        if not well_formed(token):
            return False
        return await store.usable_invite(self.db, self._hash("invite", token), now=self._now()) is not None

    async def signup(
        self,
        *,
        email: str,
        username: str,
        password: str,
        display_name: str,
        invite: str | None,
        client: ClientInfo,
    ) -> None:
        """Create an account; answers the same whether or not the email is taken (its owner is mailed)."""
        await self._limit("signup_ip", client.ip, client)
        policy = self.registration()
        if policy == "closed":
            raise Forbidden("Registration is closed on this instance.", code="registration_closed")
        if policy == "invite" and not well_formed(invite):
            raise Forbidden("An invite is needed to sign up here.", code="invite_invalid")
        password = self._check_password(password, "password", username=username, email=email)
        # Hash before anything can differ between a new and a taken address: equal time.
        password_hash = await self.hasher.hash(password)
        user_id, now = new_id(), self._now()
        existing: User | None = None
        try:
            async with self.db.transaction("auth.signup") as tx:
                if policy == "invite":
                    assert invite is not None
                    if await store.use_invite(tx, self._hash("invite", invite), now=now) is None:
                        raise Forbidden("This invite is invalid, expired or used up.", code="invite_invalid")
                if await store.user_by_username(tx, username) is not None:
                    raise Conflict("This username is taken.", code="username_taken", details={"field": "username"})
                row = await store.user_by_email(tx, email)
                if row is not None:
                    existing = User.from_row(row)
                else:
                    await store.insert_user(
                        tx,
                        user_id=user_id,
                        email=email,
                        username=username,
                        display_name=display_name,
                        avatar_color=default_color(user_id),
                        password_hash=password_hash,
                        role="member",
                        email_verified=False,
                        now=now,
                    )
        except IntegrityViolation as exc:
            # A concurrent sign-up took the username or address between the checks and the insert.
            if "email" in (exc.constraint or "") or "email" in str(exc):
                row = await store.user_by_email(self.db, email)
                if row is None:
                    raise
                existing = User.from_row(row)
            else:
                raise Conflict(
                    "This username is taken.", code="username_taken", details={"field": "username"}
                ) from None
        if existing is not None:
            self._send(mails.account_exists(existing.email, self._link("/signin"), self._link("/forgot-password")))
            security_event(
                "auth.signup",
                "sign-up for an existing address",
                client=client,
                user_id=existing.id,
                result="existing_email",
            )
            return
        user = await self._user(user_id)
        await self._send_verification(user)
        security_event("auth.signup", "account created", client=client, user_id=user.id, result="created")

    # -- sign-in, refresh, logout --------------------------------------------------------------

    async def login(self, *, login: str, password: str, client: ClientInfo) -> SignIn:
        key = login_key(login)
        await self._limit("login_ip", client.ip, client)
        await self._limit("login_account", key, client)
        await self._limit("login_ip_account", f"{client.ip}|{key}", client)
        row = await store.user_by_login(self.db, key) if 0 < len(key.encode()) <= 254 else None
        user = User.from_row(row) if row is not None else None
        # Unknown accounts are checked against a dummy hash: the same work as a wrong password.
        ok = await self.hasher.verify(password, user.password_hash if user else None)
        if user is None or not ok:
            security_event(
                "auth.login_failed",
                "sign-in failed",
                client=client,
                level=logging.WARNING,
                user_id=user.id if user else None,
                reason="wrong_password" if user else "unknown_account",
            )
            raise Unauthorized("The email, username or password is wrong.", code="invalid_credentials")
        if user.disabled:
            security_event(
                "auth.login_failed",
                "sign-in failed",
                client=client,
                level=logging.WARNING,
                user_id=user.id,
                reason="disabled",
            )
            raise Forbidden("This account is disabled.", code="account_disabled")
        signed_in = await self._start_session(user, client)
        security_event("auth.login_ok", "signed in", client=client, user_id=user.id, session_id=signed_in.session_id)
        return signed_in

    async def refresh(self, *, refresh_token: str | None, client: ClientInfo) -> SignIn:
        if not well_formed(refresh_token):
            security_event(
                "auth.token_rejected", "refresh token rejected", client=client, reason="missing", kind="refresh"
            )
            raise Unauthorized("Sign in again.", code="refresh_invalid")
        assert refresh_token is not None
        token_hash = self._hash("refresh", refresh_token)
        now = self._now()
        grace_ms = int(self.policy.grace_seconds * 1000)
        idle_ms = self.policy.session_idle * 1000
        outcome: str = "invalid"
        reason = "unknown_token"
        issued = ""
        session: Session | None = None
        user: User | None = None
        async with self.db.transaction("auth.refresh") as tx:
            token = await store.refresh_token_by_hash(tx, token_hash)
            joined = await store.session_and_user(tx, str(token["session_id"])) if token else None
            if token is not None and joined is not None:
                session, user = _split_joined(joined)
                if not session.alive(now, idle_ms):
                    reason = "session_revoked" if session.revoked_at is not None else "session_expired"
                elif user.disabled:
                    reason = "user_disabled"
                else:
                    if token["used_at"] is None:
                        successor_id, successor = new_id(), new_opaque_token()
                        box = seal_successor(self.secrets.jwt_refresh_secret, refresh_token, successor)
                        claimed = await store.claim_refresh_token(
                            tx, str(token["id"]), now=now, replaced_by=successor_id, grace_box=box
                        )
                        if claimed == 1:
                            await store.insert_refresh_token(
                                tx,
                                token_id=successor_id,
                                session_id=session.id,
                                token_hash=self._hash("refresh", successor),
                                parent_id=str(token["id"]),
                                now=now,
                            )
                            await store.touch_session(
                                tx, session.id, now=now, ip=client.ip, user_agent=client.user_agent
                            )
                            outcome, issued = "rotated", successor
                        else:
                            token = await store.refresh_token_by_id(tx, str(token["id"]))
                    if outcome != "rotated" and token is not None:
                        issued = await self._grace_successor(tx, token, refresh_token, now, grace_ms)
                        if issued:
                            outcome = "grace"
                        else:
                            await store.revoke_session(tx, session.id, now=now, reason="refresh_reuse")
                            outcome = "reuse"
        if outcome in {"rotated", "grace"} and session is not None and user is not None:
            fresh = Session(
                session.id,
                session.user_id,
                session.created_at,
                now,
                session.expires_at,
                client.ip,
                client.user_agent,
                None,
                None,
            )
            security_event(
                "auth.refresh_rotated",
                "refresh token rotated",
                client=client,
                user_id=user.id,
                session_id=session.id,
                grace=outcome == "grace",
            )
            return self._sign_in(user, fresh if outcome == "rotated" else session, issued)
        if outcome == "reuse" and session is not None and user is not None:
            security_event(
                "auth.refresh_reuse_detected",
                "a used refresh token was presented again; its session is revoked",
                client=client,
                level=logging.WARNING,
                user_id=user.id,
                session_id=session.id,
            )
            await self.announce_revoked([session.id], user_id=user.id, reason="refresh_reuse")
        else:
            security_event(
                "auth.token_rejected",
                "refresh token rejected",
                client=client,
                reason=reason,
                kind="refresh",
                user_id=user.id if user else None,
                session_id=session.id if session else None,
            )
        raise Unauthorized("Sign in again.", code="refresh_invalid")

    async def _grace_successor(self, tx: Any, token: dict[str, Any], presented: str, now: int, grace_ms: int) -> str:
        """The successor already issued for ``token`` if it is the newest's parent and recent."""
        used_at, successor_id, box = token["used_at"], token["replaced_by"], token["grace_box"]
        if used_at is None or successor_id is None or box is None or now - int(used_at) > grace_ms:
            return ""
        successor = await store.refresh_token_by_id(tx, str(successor_id))
        if successor is None or successor["used_at"] is not None:
            return ""
        opened = open_successor(self.secrets.jwt_refresh_secret, presented, str(box))
        if opened is None or self._hash("refresh", opened) != successor["token_hash"]:
            return ""
        return opened

    async def logout(self, *, refresh_token: str | None, identity: Identity | None, client: ClientInfo) -> None:
        """Revoke the session of the refresh cookie (or of the access token); idempotent."""
        session_id: str | None = None
        if well_formed(refresh_token):
            assert refresh_token is not None
            token = await store.refresh_token_by_hash(self.db, self._hash("refresh", refresh_token))
            if token is not None:
                session_id = str(token["session_id"])
        if session_id is None and identity is not None:
            session_id = identity.session_id
        if session_id is None:
            return
        row = await store.session_by_id(self.db, session_id)
        if row is None:
            return
        if await store.revoke_session(self.db, session_id, now=self._now(), reason="logout"):
            user_id = str(row["user_id"])
            security_event("auth.logout", "signed out", client=client, user_id=user_id, session_id=session_id)
            await self.announce_revoked([session_id], user_id=user_id, reason="logout")

    # -- access tokens, tickets, liveness ------------------------------------------------------

    async def identity_for_access_token(self, token: str) -> Identity:
        """The identity behind a Bearer token on a live session, or :class:`TokenRejected`."""
        claims = decode_access(self.secrets.jwt_secret, token, now=self.clock.now())
        return await self._live_identity(claims.session_id, claims.user_id)

    async def _live_identity(self, session_id: str, user_id: str) -> Identity:
        row = await store.session_and_user(self.db, session_id)
        if row is None:
            raise TokenRejected("session_unknown")
        session, user = _split_joined(row)
        if user.id != user_id:
            raise TokenRejected("session_mismatch")
        if session.revoked_at is not None:
            raise TokenRejected("session_revoked")
        if not session.alive(self._now(), self.policy.session_idle * 1000):
            raise TokenRejected("session_expired")
        if user.disabled:
            raise TokenRejected("user_disabled")
        return user.identity(session.id)

    async def session_alive(self, session_id: str) -> bool:
        row = await store.session_and_user(self.db, session_id)
        if row is None:
            return False
        session, user = _split_joined(row)
        return not user.disabled and session.alive(self._now(), self.policy.session_idle * 1000)

    async def issue_ws_ticket(self, identity: Identity, client: ClientInfo) -> tuple[str, int]:
        await self._limit("ws_ticket_user", identity.user_id, client, user_id=identity.user_id)
        ticket = await self.tickets.issue(session_id=identity.session_id, user_id=identity.user_id)
        return ticket, self.tickets.ttl

    async def identity_for_ticket(self, ticket: str) -> Identity:
        """Consume a WebSocket ticket (single use) and return its live identity."""
        holder = await self.tickets.consume(ticket)
        return await self._live_identity(holder.session_id, holder.user_id)

    # -- email verification and passwords ------------------------------------------------------

    async def verify_email(self, *, token: str, client: ClientInfo) -> None:
        if not well_formed(token):
            raise _invalid_token()
        now = self._now()
        async with self.db.transaction("auth.verify_email") as tx:
            row = await store.consume_email_token(tx, self._hash("verify", token), purpose="verify", now=now)
            changed = 0
            if row is not None:
                changed = await store.set_email_verified(tx, str(row["user_id"]), str(row["email"]), now)
        if row is None or not changed:
            raise _invalid_token()
        security_event("auth.verify_email", "email verified", client=client, user_id=str(row["user_id"]))

    async def resend_verification(self, *, email: str | None, identity: Identity | None, client: ClientInfo) -> None:
        await self._limit("resend_ip", client.ip, client)
        row = None
        if identity is not None:
            row = await store.user_by_id(self.db, identity.user_id)
        elif email is not None:
            await self._limit("forgot_email", email, client)
            row = await store.user_by_email(self.db, email)
        if row is None:
            return
        user = User.from_row(row)
        if user.email_verified or user.disabled:
            return
        await self._send_verification(user)

    async def forgot_password(self, *, email: str, client: ClientInfo) -> None:
        await self._limit("forgot_ip", client.ip, client)
        await self._limit("forgot_email", email, client)
        row = await store.user_by_email(self.db, email)
        user = User.from_row(row) if row is not None else None
        security_event(
            "auth.reset_requested", "password reset requested", client=client, user_id=user.id if user else None
        )
        if user is None or user.disabled:
            return
        self._send(mails.password_reset(user.email, await self.reset_link(user.id), self.policy.reset_ttl // 60))

    async def reset_link(self, user_id: str) -> str:
        """A fresh single-use link to choose a new password (mail, or the admin CLI)."""
        user = await self._user(user_id)
        return self._link("/reset-password", await self._issue_email_token(user, "reset", self.policy.reset_ttl))

    async def reset_password(self, *, token: str, password: str, client: ClientInfo) -> None:
        if not well_formed(token):
            raise _invalid_token()
        try:
            password = check_policy(password)
        except PasswordRejected as exc:
            raise _policy_error(exc, "password") from None
        password_hash = await self.hasher.hash(password)
        now = self._now()
        async with self.db.transaction("auth.reset_password") as tx:
            row = await store.consume_email_token(tx, self._hash("reset", token), purpose="reset", now=now)
            user_row = await store.user_by_id(tx, str(row["user_id"])) if row else None
            if row is None or user_row is None or int(user_row["disabled"]) == 1:
                raise _invalid_token()
            user = User.from_row(user_row)
            self._check_password(password, "password", username=user.username, email=user.email)
            await store.set_password_hash(tx, user.id, password_hash, now)
            await store.set_email_verified(tx, user.id, str(row["email"]), now)
            await store.expire_email_tokens(tx, user.id, purpose="reset", now=now)
            revoked = await store.revoke_user_sessions(tx, user.id, now=now, reason="password_reset")
        security_event("auth.password_changed", "password reset", client=client, user_id=user.id, via="reset")
        await self.announce_revoked(revoked, user_id=user.id, reason="password_reset")

    async def change_password(self, identity: Identity, *, current: str, new: str, client: ClientInfo) -> int:
        """Set a new password; signs out every other session. Returns how many were revoked."""
        await self._limit("password_user", identity.user_id, client, user_id=identity.user_id)
        user = await self._user(identity.user_id)
        new = self._check_password(new, "new_password", username=user.username, email=user.email)
        if not await self.hasher.verify(current, user.password_hash):
            security_event(
                "auth.login_failed",
                "wrong current password on password change",
                client=client,
                level=logging.WARNING,
                user_id=user.id,
                session_id=identity.session_id,
                reason="wrong_current_password",
            )
            raise Forbidden("The current password is wrong.", code="invalid_password")
        password_hash = await self.hasher.hash(new)
        now = self._now()
        async with self.db.transaction("auth.change_password") as tx:
            await store.set_password_hash(tx, user.id, password_hash, now)
            await store.expire_email_tokens(tx, user.id, purpose="reset", now=now)
            revoked = await store.revoke_user_sessions(
                tx, user.id, now=now, reason="password_changed", keep=identity.session_id
            )
        security_event(
            "auth.password_changed", "password changed", client=client, user_id=user.id, session_id=identity.session_id
        )
        await self.announce_revoked(revoked, user_id=user.id, reason="password_changed")
        return len(revoked)

    # -- own account and sessions --------------------------------------------------------------

    async def get_user(self, user_id: str) -> User:
        return await self._user(user_id)

    async def update_profile(self, identity: Identity, changes: dict[str, str]) -> User:
        await store.update_profile(self.db, identity.user_id, changes, self._now())
        return await self._user(identity.user_id)

    async def list_sessions(self, identity: Identity) -> list[SessionView]:
        now = self._now()
        rows = await store.live_sessions(
            self.db, identity.user_id, now=now, idle_since=now - self.policy.session_idle * 1000
        )
        sessions = [Session.from_row(row) for row in rows]
        return [SessionView(s, s.id == identity.session_id) for s in sessions]

    async def revoke_session(self, identity: Identity, session_id: str, client: ClientInfo) -> None:
        """Sign out one of the caller's own sessions; 404 for anything else (same body)."""
        row = await store.session_by_id(self.db, session_id)
        now = self._now()
        if row is None or str(row["user_id"]) != identity.user_id:
            raise NotFound("No such session.")
        if not Session.from_row(row).alive(now, self.policy.session_idle * 1000):
            raise NotFound("No such session.")
        if await store.revoke_session(self.db, session_id, now=now, reason="user_revoked"):
            await self.announce_revoked([session_id], user_id=identity.user_id, reason="user_revoked")

    async def revoke_other_sessions(self, identity: Identity, client: ClientInfo) -> int:
        revoked = await store.revoke_user_sessions(
            self.db, identity.user_id, now=self._now(), reason="user_revoked_others", keep=identity.session_id
        )
        await self.announce_revoked(revoked, user_id=identity.user_id, reason="user_revoked_others")
        return len(revoked)

    # -- administration ------------------------------------------------------------------------

    async def create_user(
        self,
        *,
        email: str,
        username: str,
        display_name: str,
        password: str | None,
        role: Role = "member",
        verified: bool = False,
    ) -> User:
        """Create an account directly (admin CLI); 409 when the email or username is taken."""
        password_hash = None
        if password is not None:
            password = self._check_password(password, "password", username=username, email=email)
            password_hash = await self.hasher.hash(password)
        user_id = new_id()
        try:
            async with self.db.transaction("auth.create_user") as tx:
                if await store.user_by_email(tx, email) is not None:
                    raise Conflict("An account with this email exists.", code="email_taken", details={"field": "email"})
                if await store.user_by_username(tx, username) is not None:
                    raise Conflict("This username is taken.", code="username_taken", details={"field": "username"})
                await store.insert_user(
                    tx,
                    user_id=user_id,
                    email=email,
                    username=username,
                    display_name=display_name,
                    avatar_color=default_color(user_id),
                    password_hash=password_hash,
                    role=role,
                    email_verified=verified,
                    now=self._now(),
                )
        except IntegrityViolation:
            raise Conflict("The email or username is taken.", code="conflict") from None
        security_event(
            "auth.signup", "account created by an administrator", user_id=user_id, result="created", via="admin"
        )
        return await self._user(user_id)

    async def find_user(self, ref: str) -> User:
        """A user by id, email or username (admin CLI)."""
        row = await store.user_by_id(self.db, ref) or await store.user_by_login(self.db, login_key(ref))
        if row is None:
            raise NotFound(f"No user {ref!r}.")
        return User.from_row(row)

    async def list_users(self, *, query: str | None = None, limit: int = 50, offset: int = 0) -> list[User]:
        key = login_key(query) if query else None
        rows = await store.list_users(self.db, query=key, limit=limit, offset=offset)
        return [User.from_row(row) for row in rows]

    async def update_user(
        self, user_id: str, *, role: Role | None = None, disabled: bool | None = None, actor: Identity | None = None
    ) -> User:
        """Change a user's role or disabled flag; the last active admin can be neither."""
        user = await self._user(user_id)
        now = self._now()
        losing_admin = user.role == "admin" and not user.disabled and (role == "member" or disabled is True)
        if actor is not None and actor.user_id == user.id and disabled is True:
            raise Conflict("You cannot disable your own account.", code="cannot_disable_self")
        revoked: list[str] = []
        async with self.db.transaction("auth.update_user") as tx:
            if losing_admin and await store.count_other_active_admins(tx, user.id) == 0:
                raise Conflict("This is the last active admin.", code="last_admin")
            if role is not None and role != user.role:
                await store.set_role(tx, user.id, role, now)
            if disabled is not None and disabled != user.disabled:
                await store.set_disabled(tx, user.id, disabled, now)
                if disabled:
                    revoked = await store.revoke_user_sessions(tx, user.id, now=now, reason="account_disabled")
        if disabled:
            await self.announce_revoked(revoked, user_id=user.id, reason="account_disabled", whole_user=True)
        return await self._user(user.id)

    async def set_verified(self, user_id: str) -> User:
        user = await self._user(user_id)
        await store.set_email_verified(self.db, user.id, user.email, self._now())
        security_event("auth.verify_email", "email marked verified by an administrator", user_id=user.id, via="admin")
        return await self._user(user.id)

    async def set_password(self, user_id: str, password: str) -> int:
        """Set a password directly (admin CLI); signs the user out everywhere."""
        user = await self._user(user_id)
        password = self._check_password(password, "password", username=user.username, email=user.email)
        password_hash = await self.hasher.hash(password)
        now = self._now()
        async with self.db.transaction("auth.set_password") as tx:
            await store.set_password_hash(tx, user.id, password_hash, now)
            await store.expire_email_tokens(tx, user.id, purpose="reset", now=now)
            revoked = await store.revoke_user_sessions(tx, user.id, now=now, reason="password_set_by_admin")
        security_event("auth.password_changed", "password set by an administrator", user_id=user.id, via="admin")
        await self.announce_revoked(revoked, user_id=user.id, reason="password_set_by_admin")
        return len(revoked)

    async def all_sessions(self, *, user_id: str | None = None, limit: int = 200) -> list[Session]:
        now = self._now()
        rows = await store.all_live_sessions(
            self.db, now=now, idle_since=now - self.policy.session_idle * 1000, user_id=user_id, limit=limit
        )
        return [Session.from_row(row) for row in rows]

    async def admin_revoke_session(self, session_id: str) -> bool:
        row = await store.session_by_id(self.db, session_id)
        if row is None or not await store.revoke_session(self.db, session_id, now=self._now(), reason="admin_revoked"):
            return False
        await self.announce_revoked([session_id], user_id=str(row["user_id"]), reason="admin_revoked")
        return True

    async def create_invite(
        self, *, actor: Identity | None, expires_in: int | None = None, max_uses: int = 1
    ) -> CreatedInvite:
        if actor is not None and not actor.email_verified:
            raise Forbidden("Verify your email address before inviting people.", code="email_unverified")
        token, invite_id, now = new_opaque_token(), new_id(), self._now()
        ttl = expires_in if expires_in is not None else self.policy.invite_ttl_default
        await store.insert_invite(
            self.db,
            invite_id=invite_id,
            token_hash=self._hash("invite", token),
            created_by=actor.user_id if actor else None,
            now=now,
            expires_at=now + ttl * 1000,
            max_uses=max_uses,
        )
        row = await store.invite_by_id(self.db, invite_id)
        assert row is not None
        url = f"{self.settings.base_url}/signup?invite={token}"
        return CreatedInvite(Invite.from_row(row), token, url)

    async def list_invites(self, *, limit: int = 200) -> list[Invite]:
        return [Invite.from_row(row) for row in await store.list_invites(self.db, limit=limit)]

    async def revoke_invite(self, invite_id: str) -> None:
        if not await store.revoke_invite(self.db, invite_id, now=self._now()):
            raise NotFound("No such invite.")

    def now_ms(self) -> int:
        return self._now()

    # -- housekeeping --------------------------------------------------------------------------

    async def purge(self) -> None:
        """Delete expired tickets and tokens, grace copies, and long-dead sessions."""
        now = self._now()
        counts = await store.purge(
            self.db,
            now=now,
            grace_before=now - int(self.policy.grace_seconds * 1000) - 60_000,
            dead_before=now - 30 * 86400 * 1000,
        )
        if any(counts):
            log.debug("accounts housekeeping removed %s", list(counts))


def auth_service(services: Services) -> AuthService:
    """The running instance's AuthService (built by the auth feature's start)."""
    service = services.extras.get(_EXTRAS_KEY)
    if not isinstance(service, AuthService):
        raise RuntimeError("the auth feature has not started: add collabcode.auth.feature to FEATURE_MODULES")
    return service


def install(services: Services, service: AuthService) -> None:
    services.extras[_EXTRAS_KEY] = service

"""WebSocket tickets: short-lived, single-use, bound to a session, stored only as keyed hashes.

Browsers cannot put an ``Authorization`` header on a WebSocket, and an access token in a URL
would end up in logs and history. So a signed-in page asks ``POST /api/auth/ws-ticket`` for a
ticket and opens ``/ws/...?ticket=...`` within 30 seconds; the handshake deletes the ticket as it
reads it (one atomic ``DELETE ... RETURNING``), so it works once.
"""

from __future__ import annotations

from dataclasses import dataclass

from collabcode.auth import store
from collabcode.auth.tokens import TokenRejected, keyed_hash, new_opaque_token, well_formed
from collabcode.clock import Clock, now_ms
from collabcode.db import Executor

TICKET_TTL_SECONDS = 30


@dataclass(frozen=True)
class TicketHolder:
    session_id: str
    user_id: str


class TicketBook:
    def __init__(self, db: Executor, clock: Clock, secret: str, ttl: int = TICKET_TTL_SECONDS) -> None:
        self.db = db
        self.clock = clock
        self.secret = secret
        self.ttl = ttl

    def _hash(self, ticket: str) -> str:
        return keyed_hash(self.secret, "ticket", ticket)

    async def issue(self, *, session_id: str, user_id: str) -> str:
        ticket, now = new_opaque_token(), now_ms(self.clock)
        await store.insert_ticket(
            self.db,
            ticket_hash=self._hash(ticket),
            session_id=session_id,
            user_id=user_id,
            now=now,
            expires_at=now + self.ttl * 1000,
        )
        return ticket

    async def consume(self, ticket: str) -> TicketHolder:
        """The session a ticket was issued for; :class:`TokenRejected` if unknown, used or expired."""
        if not well_formed(ticket):
            raise TokenRejected("malformed_ticket")
        row = await store.consume_ticket(self.db, self._hash(ticket), now=now_ms(self.clock))
        if row is None:
            raise TokenRejected("invalid_ticket")
        return TicketHolder(session_id=str(row["session_id"]), user_id=str(row["user_id"]))

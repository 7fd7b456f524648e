"""What a call looks like to its participants: one allowlisted dict for HTTP answers and frames."""

from __future__ import annotations

from typing import Any

from collabcode.calls.store import CallRow, ParticipantRow
from collabcode.realtime.presence import iso


def call_json(call: CallRow, people: list[ParticipantRow], max_participants: int) -> dict[str, Any]:
    caller = next((p for p in people if p.user_id == call.caller_id), None)
    return {
        "id": call.id,
        "kind": call.kind,
        "state": call.state,
        "media": call.media,
        "caller": {
            "user_id": call.caller_id,
            "username": caller.username if caller else None,
            "display_name": caller.display_name if caller else None,
        },
        "conversation_id": call.conversation_id,
        "workspace_id": call.workspace_id,
        "participants": [
            {
                "user_id": p.user_id,
                "username": p.username,
                "display_name": p.display_name,
                "role": p.role,
                "state": p.state,
                "joined_at": iso(p.joined_at),
                "left_at": iso(p.left_at),
            }
            for p in people
        ],
        "max_participants": max_participants,
        "started_at": iso(call.created_at),
        "ring_until": iso(call.ring_until),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "end_reason": call.end_reason,
    }

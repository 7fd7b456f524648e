-- Audio/video calls (docs/calls.md): call history, who took part, and who is in a call now.
--
-- calls: one row per call, kept as history. kind is 'direct' (two people) or 'workspace'
-- (members of one workspace, up to four at once). live_key is set while the call is not
-- ended ('p:<user a>:<user b>' with a < b, or 'w:<workspace id>') and NULL afterwards; its
-- unique index is what makes two people calling each other at the same moment end up in one
-- call, and a workspace have at most one call at a time. version grows on every change; bumping
-- it is the per-call lock every transition takes first. ring_until is when ringing gives up
-- (missed call). Times are milliseconds since the epoch.
--
-- call_participants: everyone rung or joined, with their state in the call (ringing, joined,
-- left, declined, missed).
--
-- call_busy: one row per user while they are in a call (the caller from the start, others once
-- they accept); the primary key is what refuses a second call at the same time ("busy").

CREATE TABLE calls (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    media TEXT NOT NULL,
    caller_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id TEXT REFERENCES conversations (id) ON DELETE SET NULL,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    live_key TEXT,
    state TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    ring_until BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT,
    end_reason TEXT
);
CREATE UNIQUE INDEX calls_live_key ON calls (live_key);
CREATE INDEX calls_state ON calls (state);
CREATE INDEX calls_conversation ON calls (conversation_id, created_at);
CREATE INDEX calls_workspace ON calls (workspace_id, created_at);

CREATE TABLE call_participants (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    invited_at BIGINT NOT NULL,
    joined_at BIGINT,
    left_at BIGINT,
    PRIMARY KEY (call_id, user_id)
);
CREATE INDEX call_participants_user ON call_participants (user_id, invited_at);

CREATE TABLE call_busy (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE
);
CREATE INDEX call_busy_call ON call_busy (call_id);

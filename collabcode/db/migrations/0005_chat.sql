-- Live events and 1:1 messaging (docs/chat.md, docs/protocol.md "Events socket").
--
-- realtime_users / user_events: every user's durable event stream. Each event a user must not
-- miss (a message, an edit, a receipt) gets the next number of that user's cursor, taken in the
-- same transaction as the change it reports, so cursors are gap-free and a client that reconnects
-- with the last cursor it saw is sent exactly what came after. Events reference rows (a message,
-- a conversation); the frame is rendered from the current row when replayed, so a deleted
-- message is never replayed with its old text.
--
-- conversations: one per ordered pair of users (user_a < user_b), unique, so opening the same
-- pair twice is the same conversation. last_seq is the last message number; bumping it is also
-- the per-conversation lock every send takes first. conversation_members holds each side's
-- delivered/read high-water marks. Messages are idempotent on (sender_id, client_id);
-- request_hash is a hash of the original request, so a retry with other content is told apart
-- even after the message was edited or deleted. Phone numbers are stored only as keyed hashes
-- (HMAC with the instance's hash key) and a short hint for their owner. Times are milliseconds.

CREATE TABLE realtime_users (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    cursor BIGINT NOT NULL DEFAULT 0,
    last_seen_at BIGINT,
    invisible INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE user_events (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cursor BIGINT NOT NULL,
    kind TEXT NOT NULL,
    topic_id TEXT,
    item_id TEXT,
    actor_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, cursor)
);
CREATE INDEX user_events_created ON user_events (created_at);

CREATE TABLE conversations (
    id TEXT NOT NULL PRIMARY KEY,
    user_a TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_b TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversations_pair ON conversations (user_a, user_b);
CREATE INDEX conversations_user_b ON conversations (user_b);

CREATE TABLE conversation_members (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    peer_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delivered_seq BIGINT NOT NULL DEFAULT 0,
    read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members (user_id);

CREATE TABLE messages (
    id TEXT NOT NULL PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    sender_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    edited_at BIGINT,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX messages_seq ON messages (conversation_id, seq);
CREATE UNIQUE INDEX messages_client ON messages (sender_id, client_id);

CREATE TABLE chat_blocks (
    blocker_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX chat_blocks_blocked ON chat_blocks (blocked_id);

CREATE TABLE chat_settings (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    read_receipts INTEGER NOT NULL DEFAULT 1,
    discoverable INTEGER NOT NULL DEFAULT 0,
    phone_hash TEXT,
    phone_hint TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX chat_settings_phone ON chat_settings (phone_hash);

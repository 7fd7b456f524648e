-- Accounts: users, sessions (refresh-token families), one-time tokens, invites, WebSocket tickets.
-- Emails and usernames are stored normalised (NFC, lower-case) by the application, so a plain
-- unique index makes them case-insensitively unique. No raw token is ever stored: only keyed
-- hashes (HMAC-SHA256 with an instance secret). Times are milliseconds since the epoch.

CREATE TABLE users (
    id TEXT NOT NULL PRIMARY KEY,
    email TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    avatar_color TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL DEFAULT 'member',
    email_verified INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    password_changed_at BIGINT
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE UNIQUE INDEX users_username ON users (username);
CREATE INDEX users_role ON users (role, disabled);
CREATE INDEX users_created ON users (created_at);

-- A session is one sign-in on one device: the family of refresh tokens rotated from it.
CREATE TABLE sessions (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions (user_id, revoked_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- grace_box: the successor token, encrypted with a key only the holder of this token can
-- derive, kept for the few seconds in which a second tab may still present this token.
CREATE TABLE refresh_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    parent_id TEXT,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    replaced_by TEXT,
    grace_box TEXT
);
CREATE UNIQUE INDEX refresh_tokens_hash ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_replaced_by ON refresh_tokens (replaced_by);
CREATE INDEX refresh_tokens_used ON refresh_tokens (used_at);

-- Single-use tokens mailed to users: purpose 'verify' (email verification) or 'reset'.
CREATE TABLE email_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    email TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE UNIQUE INDEX email_tokens_hash ON email_tokens (token_hash);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires ON email_tokens (expires_at);

CREATE TABLE invites (
    id TEXT NOT NULL PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    max_uses INTEGER NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX invites_hash ON invites (token_hash);
CREATE INDEX invites_created ON invites (created_at);
CREATE INDEX invites_created_by ON invites (created_by);

-- The first-run link that creates the first admin.
CREATE TABLE setup_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE UNIQUE INDEX setup_tokens_hash ON setup_tokens (token_hash);
CREATE INDEX setup_tokens_expires ON setup_tokens (expires_at);

-- Short-lived, single-use WebSocket tickets bound to a session.
CREATE TABLE ws_tickets (
    ticket_hash TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ws_tickets_session ON ws_tickets (session_id);
CREATE INDEX ws_tickets_expires ON ws_tickets (expires_at);

-- The AI assistant (docs/assistant.md).
--
-- ai_usage: tokens (prompt + answer) and requests per UTC day and user. The instance's daily
-- budget is the sum over one day; rows are added to with an upsert after every provider call.
-- user_id has no foreign key on purpose: deleting an account must not give the day's budget back.
--
-- ai_workspace_settings: the per-workspace switch set by an instance admin or a workspace owner.
-- A workspace without a row has the assistant on. Times are milliseconds.

CREATE TABLE ai_usage (
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (day, user_id)
);

CREATE TABLE ai_workspace_settings (
    workspace_id TEXT NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL,
    updated_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL
);

-- File history: every stored change of a collaborative document with who made it, kept apart
-- from the update log (doc_updates rows are deleted when the log is compacted into a snapshot).
-- A row is written in the same group-commit transaction as the doc_updates row it belongs to,
-- so a saved change always has its history. One stored update (doc_id, seq) may hold changes of
-- several people: each gets its own part. author_id is the server's identity of whoever made
-- the change (NULL: the server itself); via is NULL, 'assistant' or 'restore'. Rows older than
-- the retention period are merged per span between checkpoints: such a row has author_id NULL
-- and the span's authors as a JSON list in authors. Times are milliseconds since the epoch.

CREATE TABLE doc_history (
    doc_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    part INTEGER NOT NULL,
    author_id TEXT,
    via TEXT,
    authors TEXT,
    created_at BIGINT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq, part)
);

CREATE INDEX doc_history_created ON doc_history (created_at);

-- Checkpoints: named (on demand) or automatic (after a pause in editing, or kept by compaction).
-- Automatic ones have name ''. A version is a stored sequence number of the document.
CREATE TABLE doc_checkpoints (
    id TEXT NOT NULL PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX doc_checkpoints_name ON doc_checkpoints (doc_id, seq, name);

-- Comments anchored to code: the range is kept as two Yjs sticky indexes (relative positions),
-- so it follows the code while the file is edited; snippet and seq record what it was made on.
CREATE TABLE doc_comments (
    id TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    file_id TEXT NOT NULL REFERENCES workspace_files (id) ON DELETE CASCADE,
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    anchor_start BLOB NOT NULL,
    anchor_end BLOB NOT NULL,
    snippet TEXT NOT NULL,
    seq BIGINT NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0,
    resolved_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX doc_comments_file ON doc_comments (workspace_id, file_id, created_at);

-- Workspaces: their members (role owner, editor or viewer) and their file tree.
-- A file's contents are its collaborative document, whose id is the file id; this table holds
-- the tree only. Paths are stored NFC-normalised as typed (path) and case-folded (path_key);
-- the unique index on (workspace_id, path_key) is what makes names that differ only by case
-- collide. tree_version grows by one per tree change; bumping it is also the per-workspace
-- lock every tree or membership change takes first. Times are milliseconds since the epoch.

CREATE TABLE workspaces (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    tree_version BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX workspaces_created_by ON workspaces (created_by);

CREATE TABLE workspace_members (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id, role);
CREATE INDEX workspace_members_role ON workspace_members (workspace_id, role);

CREATE TABLE workspace_files (
    id TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    path_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    size BIGINT NOT NULL DEFAULT 0,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX workspace_files_key ON workspace_files (workspace_id, path_key);
CREATE INDEX workspace_files_created_by ON workspace_files (created_by);

-- Profiles, following, avatars, the dashboard and the activity feed (docs/social.md).
--
-- follows: who follows whom (follower -> followee); one row per pair.
-- user_avatars: the current avatar of a user, re-encoded by the server (never the uploaded
--   bytes). id is a fresh server id per upload: the URL, cache key and ETag.
-- recent_files: the files a user opened lately (one row per file, the latest open wins);
--   rows go with the file or the workspace.
-- workspace_activity: the stored event log behind the activity feed, one row per workspace
--   event worth showing (data is JSON); rows go with the workspace.
-- live_activity: which document each user has open, per server process (process_id), renewed
--   while the socket is open and expiring (expires_at) when the process stops renewing it.
-- Times are milliseconds since the epoch.

CREATE TABLE follows (
    follower_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows (followee_id, created_at);
CREATE INDEX follows_follower ON follows (follower_id, created_at);

CREATE TABLE user_avatars (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX user_avatars_id ON user_avatars (id);

CREATE TABLE recent_files (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_id TEXT NOT NULL REFERENCES workspace_files (id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    opened_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, file_id)
);
CREATE INDEX recent_files_user ON recent_files (user_id, opened_at);

CREATE TABLE workspace_activity (
    id TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    actor_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX workspace_activity_workspace ON workspace_activity (workspace_id, created_at);
CREATE INDEX workspace_activity_created ON workspace_activity (created_at);

CREATE TABLE live_activity (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    process_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    since BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, process_id)
);
CREATE INDEX live_activity_process ON live_activity (process_id);
CREATE INDEX live_activity_expires ON live_activity (expires_at);

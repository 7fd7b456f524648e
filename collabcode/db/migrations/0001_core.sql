-- Instance-level facts, one row per key (e.g. the instance id).
-- Features add their own tables in later numbered migrations.
CREATE TABLE meta (
    key TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

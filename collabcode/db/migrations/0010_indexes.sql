-- Indexes found missing by the query analysis (tests/perf/test_query_plans.py, docs/storage.md).
--
-- users_username_prefix: people search ("username LIKE 'prefix%'") walked the whole users table.
-- Usernames are stored lower-case and SQLite's LIKE ignores ASCII case, so SQLite needs a NOCASE
-- index to turn the prefix into a range; PostgreSQL has its own file (text_pattern_ops).

CREATE INDEX users_username_prefix ON users (username COLLATE NOCASE);

-- Indexes found missing by the query analysis (tests/perf/test_query_plans.py, docs/storage.md).
--
-- users_username_prefix: people search ("username LIKE 'prefix%'") walked the whole users table.
-- Outside the C collation a plain B-tree cannot serve LIKE; text_pattern_ops compares bytes, so
-- the prefix becomes an index range whatever the database's collation.

CREATE INDEX users_username_prefix ON users (username text_pattern_ops);

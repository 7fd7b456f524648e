"""Realistic volume for query analysis, generated inside PostgreSQL (INSERT ... SELECT
generate_series), so a million rows take seconds, not minutes.

Ids are ``md5(<letter> || n)``: 32 hex characters like the application's own ids, and computable
in Python (:func:`ident`) to pick realistic parameters. Shape:

- 1,000 users, each in ~2 conversations and one workspace; 20,000 sessions (10 % revoked) with a
  refresh token each; 100,000 user events.
- 2,000 conversations of two people, 50 messages each (100,000), stored in time order (the
  messages of one conversation are spread over the table, as in life); 500 blocks; chat settings.
- 100 workspaces of 10 members, 100 files each (10,000) in 10 folders.
- 5,000 documents (the first 50 files of every workspace) with a snapshot and 200 logged updates
  each (1,000,000 ``doc_updates`` rows, interleaved between documents as concurrent editing writes
  them), and their text mirrors.
"""

from __future__ import annotations

import hashlib

#: Loaded without their indexes, which are rebuilt afterwards (one sort instead of a million
#: random B-tree inserts: seconds instead of a minute). The definitions are read from the
#: migrated database, so the rebuilt indexes are exactly the schema's.
BULK_TABLES = ("messages", "doc_updates")

USERS = 1_000
SESSIONS = 20_000
CONVERSATIONS = 2_000
MESSAGES_PER_CONVERSATION = 50
WORKSPACES = 100
MEMBERS_PER_WORKSPACE = 10
FILES_PER_WORKSPACE = 100
DOCUMENTS_PER_WORKSPACE = 50
UPDATES_PER_DOCUMENT = 200
EVENTS_PER_USER = 100

#: A fixed "now" (ms), so sessions are live and times realistic.
NOW = 1_790_000_000_000
T0 = NOW - 90 * 86_400_000


def ident(letter: str, n: int) -> str:
    """The seeded id ``md5(letter || n)``."""
    return hashlib.md5(f"{letter}{n}".encode()).hexdigest()


def doc_id(workspace: int, file: int) -> str:
    return f"{ident('w', workspace)}/{ident('f', file)}"


def conversation_pair(i: int) -> tuple[str, str]:
    """The two people of conversation ``i`` (user_a < user_b), as the seed SQL computes them."""
    x = i % USERS
    y = (x + 1 + i // USERS) % USERS
    a, b = ident("u", x), ident("u", y)
    return min(a, b), max(a, b)


SEED_SQL = [
    f"""INSERT INTO users (id, email, username, display_name, bio, avatar_color, password_hash, role,
        email_verified, disabled, created_at, updated_at)
    SELECT md5('u' || i), 'user' || i || '@example.com', 'user' || i, 'User ' || i, '', '#3366cc',
        '$2b$12$' || md5('pw' || i), CASE WHEN i = 0 THEN 'admin' ELSE 'member' END, 1, 0, {T0} + i, {T0} + i
    FROM generate_series(0, {USERS - 1}) i""",
    f"""INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, revoked_at,
        revoked_reason)
    SELECT md5('s' || i), md5('u' || (i % {USERS})), {T0} + i * 1000, {NOW} - (i % 5000) * 1000,
        {NOW + 30 * 86_400_000}, '203.0.113.' || (i % 250), 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0',
        CASE WHEN i % 10 = 0 THEN {NOW} - 1000 END, CASE WHEN i % 10 = 0 THEN 'signed_out' END
    FROM generate_series(0, {SESSIONS - 1}) i""",
    f"""INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, created_at)
    SELECT md5('r' || i), md5('s' || i), md5('h' || i), NULL, {T0} + i * 1000
    FROM generate_series(0, {SESSIONS - 1}) i""",
    f"""INSERT INTO realtime_users (user_id, cursor, last_seen_at, invisible)
    SELECT md5('u' || i), {EVENTS_PER_USER}, {NOW}, 0 FROM generate_series(0, {USERS - 1}) i""",
    f"""INSERT INTO user_events (user_id, cursor, kind, topic_id, item_id, actor_id, created_at)
    SELECT md5('u' || (i / {EVENTS_PER_USER})), i % {EVENTS_PER_USER} + 1, 'message', md5('c' || (i % 2000)),
        md5('m' || i), md5('u' || (i % 7)), {T0} + i * 10
    FROM generate_series(0, {USERS * EVENTS_PER_USER - 1}) i""",
    f"""INSERT INTO conversations (id, user_a, user_b, created_by, last_seq, created_at, updated_at)
    SELECT md5('c' || i), LEAST(ua, ub), GREATEST(ua, ub), LEAST(ua, ub), {MESSAGES_PER_CONVERSATION},
        {T0} + i * 1000, {T0} + i * 1000 + 500000
    FROM (SELECT i, md5('u' || (i % {USERS})) AS ua, md5('u' || ((i % {USERS} + 1 + i / {USERS}) % {USERS})) AS ub
          FROM generate_series(0, {CONVERSATIONS - 1}) i) pairs""",
    """INSERT INTO conversation_members (conversation_id, user_id, peer_id, delivered_seq, read_seq)
    SELECT id, user_a, user_b, last_seq, last_seq - 10 FROM conversations
    UNION ALL SELECT id, user_b, user_a, last_seq, last_seq - 5 FROM conversations""",
    f"""INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, request_hash, body, created_at)
    SELECT md5('m' || g.i), c.id, g.i / {CONVERSATIONS} + 1,
        CASE WHEN (g.i / {CONVERSATIONS}) % 2 = 0 THEN c.user_a ELSE c.user_b END, md5('cl' || g.i),
        md5('rh' || g.i), 'message number ' || g.i || ' about the build, the tests and lunch', {T0} + g.i * 1000
    FROM generate_series(0, {CONVERSATIONS * MESSAGES_PER_CONVERSATION - 1}) g(i)
    JOIN conversations c ON c.id = md5('c' || (g.i % {CONVERSATIONS}))
    ORDER BY g.i""",
    f"""INSERT INTO chat_blocks (blocker_id, blocked_id, created_at)
    SELECT md5('u' || i), md5('u' || ((i + 500) % {USERS})), {T0} + i FROM generate_series(0, 499) i""",
    f"""INSERT INTO chat_settings (user_id, read_receipts, discoverable, phone_hash, phone_hint, updated_at)
    SELECT md5('u' || i), 1, i % 2, md5('p' || i), '••' || lpad((i % 100)::text, 2, '0'), {T0}
    FROM generate_series(0, {USERS - 1}) i""",
    f"""INSERT INTO workspaces (id, name, created_by, created_at, updated_at, tree_version)
    SELECT md5('w' || i), 'Workspace ' || i, md5('u' || (i * 10)), {T0} + i, {T0} + i * 1000, 120
    FROM generate_series(0, {WORKSPACES - 1}) i""",
    f"""INSERT INTO workspace_members (workspace_id, user_id, role, created_at, updated_at)
    SELECT md5('w' || (j / 10)), md5('u' || (((j / 10) * 10 + (j % 10) * 37) % {USERS})),
        CASE WHEN j % 10 = 0 THEN 'owner' WHEN j % 10 < 8 THEN 'editor' ELSE 'viewer' END, {T0} + j, {T0} + j
    FROM generate_series(0, {WORKSPACES * MEMBERS_PER_WORKSPACE - 1}) j""",
    f"""INSERT INTO workspace_files (id, workspace_id, path, path_key, kind, size, created_by, created_at, updated_at)
    SELECT md5('f' || f), md5('w' || (f / {FILES_PER_WORKSPACE})), 'src/Dir' || (f % 10) || '/File' || f || '.py',
        'src/dir' || (f % 10) || '/file' || f || '.py', 'file', 2000 + f % 5000,
        md5('u' || ((f / {FILES_PER_WORKSPACE}) * 10)), {T0} + f, {T0} + f * 100
    FROM generate_series(0, {WORKSPACES * FILES_PER_WORKSPACE - 1}) f""",
    f"""INSERT INTO workspace_files (id, workspace_id, path, path_key, kind, size, created_by, created_at, updated_at)
    SELECT md5('d' || w || '/' || d), md5('w' || w), 'src/Dir' || d, 'src/dir' || d, 'folder', 0,
        md5('u' || (w * 10)), {T0}, {T0}
    FROM generate_series(0, {WORKSPACES - 1}) w, generate_series(0, 9) d""",
    f"""INSERT INTO documents (id, head_seq, created_at, updated_at)
    SELECT md5('w' || w) || '/' || md5('f' || (w * {FILES_PER_WORKSPACE} + k)), {UPDATES_PER_DOCUMENT}, {T0}, {NOW}
    FROM generate_series(0, {WORKSPACES - 1}) w, generate_series(0, {DOCUMENTS_PER_WORKSPACE - 1}) k""",
    f"""INSERT INTO doc_snapshots (doc_id, state, upto_seq, updated_at)
    SELECT id, decode(repeat(md5(id), 32), 'hex'), 0, {T0} FROM documents""",
    f"""INSERT INTO doc_text (doc_id, text, updated_at)
    SELECT id, repeat('print("hello")' || chr(10), 100), {NOW} FROM documents""",
    f"""INSERT INTO doc_updates (doc_id, seq, data, created_at)
    SELECT d.id, s.seq, decode(d.h || lpad(to_hex(s.seq), 8, '0'), 'hex'), {T0} + s.seq * 1000
    FROM generate_series(1, {UPDATES_PER_DOCUMENT}) s(seq), (SELECT id, md5(id) AS h FROM documents) d
    ORDER BY s.seq, d.id""",
]

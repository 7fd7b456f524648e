-- Collaborative documents: an append-only log of Yjs v1 updates per document, compacted into a
-- snapshot, plus a plain-text mirror of the file's text. A document id is
-- "<workspace id>/<file id>". documents.head_seq is the per-document sequence: taking the next
-- numbers is one upsert that locks the row until commit, so numbers are handed out in commit
-- order on every process. The snapshot holds everything up to upto_seq; log rows at or below it
-- are deleted in the same transaction. Times are milliseconds since the epoch.

CREATE TABLE documents (
    id TEXT NOT NULL PRIMARY KEY,
    head_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE doc_updates (
    doc_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    data BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (doc_id, seq)
);

CREATE TABLE doc_snapshots (
    doc_id TEXT NOT NULL PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    state BLOB NOT NULL,
    upto_seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE doc_text (
    doc_id TEXT NOT NULL PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

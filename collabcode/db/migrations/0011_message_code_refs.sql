-- Code references in 1:1 messages (docs/chat.md, "Code references"): a message may point at a
-- range of a workspace file. Like comments (0009), the range is two Yjs sticky indexes, so it
-- follows the code while the file is edited; snippet and seq record what it covered when sent
-- (seq is the file's history version then). One row per message at most; deleting the message
-- for everyone deletes the row. workspace_id and file_id are deliberately not foreign keys: a
-- reference to a file deleted since stays and reads as deleted code to the workspace's members,
-- and one to a deleted workspace reads as unavailable to everyone (its members went with it).
-- (A foreign key would also let one send whose workspace was deleted meanwhile fail the whole
-- group-commit batch it is written in.)

CREATE TABLE message_code_refs (
    message_id TEXT NOT NULL PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    anchor_start BLOB NOT NULL,
    anchor_end BLOB NOT NULL,
    snippet TEXT NOT NULL,
    seq BIGINT NOT NULL
);

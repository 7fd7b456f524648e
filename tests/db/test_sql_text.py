"""The PostgreSQL rewrites of SQL written once for both databases."""

from __future__ import annotations

import pytest

from collabcode.db.postgres import numbered_placeholders, translate_ddl


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("SELECT ?", "SELECT $1"),
        ("a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"),
        ("a = 'why?' AND b = ?", "a = 'why?' AND b = $1"),
        ("a = 'it''s ?' AND b = ?", "a = 'it''s ?' AND b = $1"),
        ("''||?", "''||$1"),
        ('SELECT ? AS "what?"', 'SELECT $1 AS "what?"'),
        ("SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"),
        ("SELECT /* ? */ ?", "SELECT /* ? */ $1"),
        ("SELECT $$ ? $$, $fn$ ? $fn$, ?", "SELECT $$ ? $$, $fn$ ? $fn$, $1"),
    ],
)
def test_numbered_placeholders(sql: str, expected: str) -> None:
    assert numbered_placeholders(sql) == expected


def test_numbered_placeholders_are_cached() -> None:
    sql = "SELECT * FROM cache_probe WHERE a = ?"
    assert numbered_placeholders(sql) is numbered_placeholders(sql)


def test_translate_ddl_maps_only_type_words_outside_quotes() -> None:
    ddl = (
        "CREATE TABLE f (data BLOB NOT NULL, score real, blobs TEXT DEFAULT 'BLOB', "
        '"REAL" INTEGER) -- BLOB here stays'
    )
    assert translate_ddl(ddl) == (
        "CREATE TABLE f (data BYTEA NOT NULL, score DOUBLE PRECISION, blobs TEXT DEFAULT 'BLOB', "
        '"REAL" INTEGER) -- BLOB here stays'
    )

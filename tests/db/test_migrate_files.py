"""Migration files: naming, per-dialect replacement and statement splitting."""

from __future__ import annotations

from pathlib import Path

import pytest

from collabcode.db.migrate import MigrationError, load_migrations, split_statements


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_split_on_semicolons_that_end_a_line() -> None:
    script = """
-- leading comment; with a semicolon
CREATE TABLE a (
    id TEXT, -- trailing; comment
    v TEXT DEFAULT 'x;y'
);
CREATE INDEX a_v ON a (v);

-- only a comment;
INSERT INTO a VALUES ('1', '2')
"""
    assert split_statements(script) == [
        "-- leading comment; with a semicolon\nCREATE TABLE a (\n"
        "    id TEXT, -- trailing; comment\n    v TEXT DEFAULT 'x;y'\n);",
        "CREATE INDEX a_v ON a (v);",
        "-- only a comment;\nINSERT INTO a VALUES ('1', '2')",
    ]


def test_packaged_migrations_load_for_both_dialects() -> None:
    for dialect in ("sqlite", "postgresql"):
        migrations = load_migrations(dialect)
        assert migrations[0].name == "0001_core"
        assert [m.version for m in migrations] == sorted({m.version for m in migrations})
        assert all(m.statements for m in migrations)


def test_dialect_file_replaces_the_shared_one(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "0001_a.sql": "CREATE TABLE a (data BLOB);",
            "0002_b.sql": "CREATE TABLE b (data BLOB);",
            "0002_b.postgresql.sql": "CREATE TABLE b (data BYTEA, r REAL);",
            "0003_c.sqlite.sql": "CREATE TABLE c (id TEXT);",
            "0003_c.postgresql.sql": "CREATE TABLE c (id TEXT, x JSONB);",
            "README.md": "not a migration",
        },
    )
    sqlite = load_migrations("sqlite", tmp_path)
    postgres = load_migrations("postgresql", tmp_path)
    assert [m.name for m in sqlite] == ["0001_a", "0002_b", "0003_c"]
    assert [m.statements for m in sqlite] == [
        ("CREATE TABLE a (data BLOB);",),
        ("CREATE TABLE b (data BLOB);",),
        ("CREATE TABLE c (id TEXT);",),
    ]
    assert [m.statements for m in postgres] == [
        ("CREATE TABLE a (data BYTEA);",),  # shared files get the type mapping
        ("CREATE TABLE b (data BYTEA, r REAL);",),  # dialect files are taken as written
        ("CREATE TABLE c (id TEXT, x JSONB);",),
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "", "0001_b.sql": ""}, "two migrations share number 0001"),
        ({"0001_a.postgresql.sql": ""}, "has no file for sqlite"),
        ({"1_a.sql": ""}, "is not named NNNN_name"),
        ({"0001_A.sql": ""}, "is not named NNNN_name"),
    ],
)
def test_bad_migration_files_are_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    write(tmp_path, files)
    with pytest.raises(MigrationError, match=message):
        load_migrations("sqlite", tmp_path)

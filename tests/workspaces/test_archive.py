"""Reading hostile zip archives and writing faithful ones, without the app around them."""

from __future__ import annotations

import io
import stat
import struct
import zipfile

import pytest

from collabcode.errors import BadRequest, PayloadTooLarge
from collabcode.workspaces.archive import (
    ArchiveEntry,
    ExportEntry,
    ImportLimits,
    decode_text,
    read_archive,
    write_archive,
)

LIMITS = ImportLimits(max_file_bytes=64 * 1024, max_entries=50, max_total_bytes=256 * 1024)


def make_zip(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def reasons(result: object) -> dict[str, str]:
    return {s.path: s.reason for s in result.skipped}  # type: ignore[attr-defined]


def test_text_files_and_folders_are_read() -> None:
    result = read_archive(make_zip({"a.txt": b"hello\r\n", "src/": b"", "src/m.py": "π = 3\n".encode()}), LIMITS)
    assert result.entries == [
        ArchiveEntry("a.txt", "file", "hello\r\n"),
        ArchiveEntry("src", "folder"),
        ArchiveEntry("src/m.py", "file", "π = 3\n"),
    ]
    assert result.skipped == []


def test_zip_slip_and_bad_names_are_skipped() -> None:
    names = ["../evil.txt", "/abs.txt", "a/../../b.txt", "a\\..\\c.txt", "bidi\u202etxt.exe", "ok//x.txt", "./d.txt"]
    result = read_archive(make_zip({name: b"x" for name in names} | {"fine.txt": b"y"}), LIMITS)
    assert [e.path for e in result.entries] == ["fine.txt"]
    assert set(reasons(result).values()) == {"invalid_path"}
    assert len(result.skipped) == len(names)


def test_nul_in_an_entry_name_is_not_silently_truncated() -> None:
    # zipfile truncates names at NUL when writing, so put the NUL into the bytes afterwards.
    data = make_zip({"evil.txt#.png": b"x"}).getvalue().replace(b"evil.txt#.png", b"evil.txt\x00.png")
    result = read_archive(io.BytesIO(data), LIMITS)
    assert result.entries == []
    assert [s.reason for s in result.skipped] == ["invalid_path"]


def test_binary_files_are_skipped() -> None:
    result = read_archive(
        make_zip({"img.png": b"\x89PNG\r\n\x1a\n\x00\x00", "latin1.txt": "café".encode("latin-1"), "t.txt": b"t"}),
        LIMITS,
    )
    assert [e.path for e in result.entries] == ["t.txt"]
    assert reasons(result) == {"img.png": "binary", "latin1.txt": "binary"}


def test_case_duplicates_keep_the_first() -> None:
    result = read_archive(make_zip({"Readme.md": b"1", "README.md": b"2"}), LIMITS)
    assert [e.path for e in result.entries] == ["Readme.md"]
    assert reasons(result) == {"README.md": "duplicate"}


def test_oversized_file_is_skipped_without_inflating_it() -> None:
    big = b"a" * (LIMITS.max_file_bytes + 1)
    result = read_archive(make_zip({"big.txt": big, "small.txt": b"s"}), LIMITS)
    assert [e.path for e in result.entries] == ["small.txt"]
    assert reasons(result) == {"big.txt": "too_large"}


def test_suspicious_compression_ratio_is_skipped() -> None:
    limits = ImportLimits(max_file_bytes=8 * 1024 * 1024, max_total_bytes=64 * 1024 * 1024, ratio_floor=1024)
    result = read_archive(make_zip({"bomb.txt": b"\n" * (4 * 1024 * 1024)}), limits)
    assert reasons(result) == {"bomb.txt": "suspicious_compression"}


def test_total_uncompressed_size_is_capped() -> None:
    files = {f"f{i}.txt": bytes([65 + i]) * 60_000 for i in range(6)}  # 360 kB > 256 kB
    with pytest.raises(PayloadTooLarge):
        read_archive(make_zip(files, compression=zipfile.ZIP_STORED), LIMITS)


def test_too_many_entries() -> None:
    files = {f"f{i}.txt": b"x" for i in range(LIMITS.max_entries + 1)}
    with pytest.raises(PayloadTooLarge) as info:
        read_archive(make_zip(files), LIMITS)
    assert info.value.code == "too_many_entries"


def test_a_lying_entry_count_does_not_help() -> None:
    files = {f"f{i}.txt": b"x" for i in range(LIMITS.max_entries + 5)}
    data = bytearray(make_zip(files).getvalue())
    at = data.rfind(b"PK\x05\x06")
    data[at + 8 : at + 12] = struct.pack("<HH", 1, 1)  # claim a single entry
    with pytest.raises((PayloadTooLarge, BadRequest)):
        read_archive(io.BytesIO(bytes(data)), LIMITS)


def test_huge_central_directory_is_refused_before_parsing() -> None:
    limits = ImportLimits(max_file_bytes=1024, max_entries=10_000, max_directory_bytes=1024)
    files = {f"{'n' * 100}{i}.txt": b"x" for i in range(40)}
    with pytest.raises(PayloadTooLarge) as info:
        read_archive(make_zip(files), limits)
    assert info.value.code == "archive_too_large"


@pytest.mark.parametrize(
    "data", [b"", b"not a zip at all", b"PK\x05\x06" + b"\x00" * 10, b"PK\x03\x04" + b"\x00" * 100]
)
def test_not_a_zip(data: bytes) -> None:
    with pytest.raises(BadRequest):
        read_archive(io.BytesIO(data), LIMITS)


def test_truncated_archive() -> None:
    data = make_zip({"a.txt": b"a" * 1000}).getvalue()
    with pytest.raises(BadRequest):
        read_archive(io.BytesIO(data[: len(data) // 2]), LIMITS)


def test_corrupt_member_is_skipped_as_unreadable() -> None:
    data = bytearray(make_zip({"a.txt": b"hello world " * 50, "b.txt": b"fine"}).getvalue())
    start = data.find(b"a.txt") + len("a.txt")
    data[start + 5 : start + 15] = b"\xff" * 10  # damage the deflate stream of a.txt
    result = read_archive(io.BytesIO(bytes(data)), LIMITS)
    assert reasons(result) == {"a.txt": "unreadable"}
    assert [e.path for e in result.entries] == ["b.txt"]


def test_symlinks_and_encrypted_entries_are_skipped() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("secret.txt", b"scrambled")
    data = bytearray(buffer.getvalue())
    # zipfile clears the flags it writes; set "encrypted" (bit 0) in the central directory entry.
    central = data.rfind(b"secret.txt") - 46  # the name follows the 46-byte central header
    assert data[central : central + 4] == b"PK\x01\x02"
    data[central + 8] |= 0x1
    result = read_archive(io.BytesIO(bytes(data)), LIMITS)
    assert result.entries == []
    assert reasons(result) == {"link": "symlink", "secret.txt": "encrypted"}


def test_decode_text() -> None:
    assert decode_text("é\n".encode()) == "é\n"
    assert decode_text(b"\xef\xbb\xbfbom") == "\ufeffbom"
    assert decode_text(b"a\x00b") is None
    assert decode_text(b"\xff\xfe") is None


def test_write_then_read_is_byte_identical() -> None:
    texts = {
        "crlf.txt": "one\r\ntwo\r\n",
        "bom.txt": "\ufeffwith bom",
        "dir/sub/unicode-ü.py": "print('✓')\n",
        "empty.txt": "",
        "no-newline": "x",
    }
    entries = [ExportEntry("dir", "folder", 0), ExportEntry("dir/sub", "folder", 1_700_000_000_000)]
    entries += [ExportEntry(path, "file", 0, text) for path, text in texts.items()]
    buffer = io.BytesIO()
    write_archive(buffer, entries)
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as archive:
        assert archive.testzip() is None
        for path, text in texts.items():
            assert archive.read(path) == text.encode("utf-8")
        assert archive.getinfo("dir/").is_dir()
    buffer.seek(0)
    result = read_archive(buffer, LIMITS)
    assert {e.path: e.text for e in result.entries if e.kind == "file"} == texts
    assert result.skipped == []

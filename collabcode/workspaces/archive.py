"""Zip import and export of a workspace's files; pure functions over file objects, no database.

Reading an uploaded archive is defensive: the central directory is bounded before ``zipfile``
parses it, every entry's path passes the path rules, and no more bytes are ever inflated than
the per-file and total limits allow (``zipfile`` stops at an entry's declared size and checks
its CRC, so an entry cannot inflate past what it declares). Entries that cannot become a text
file are skipped with a reason rather than failing the whole import; limits that bound the work
(entry count, total size, the central directory) refuse the whole archive.

These functions are synchronous and CPU-bound: the service runs them in a worker thread.
"""

from __future__ import annotations

import stat
import struct
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Final, Literal

from collabcode.errors import BadRequest, PayloadTooLarge
from collabcode.workspaces.paths import MAX_PATH_BYTES, PathRejected, normalize_path, path_key

_EOCD: Final = b"PK\x05\x06"
_ZIP64_LOCATOR: Final = b"PK\x06\x07"
_ZIP64_EOCD: Final = b"PK\x06\x06"
_EOCD_SIZE: Final = 22
_MAX_COMMENT: Final = 0xFFFF
_SUPPORTED_COMPRESSION: Final = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_READ_CHUNK: Final = 64 * 1024
_REPORTED_PATH_CHARS: Final = 300

SkipReason = Literal[
    "invalid_path",
    "symlink",
    "encrypted",
    "unsupported_compression",
    "too_large",
    "suspicious_compression",
    "unreadable",
    "binary",
    "duplicate",
    "already_exists",
    "parent_is_file",
    "case_conflict",
]


@dataclass(frozen=True)
class ImportLimits:
    max_file_bytes: int
    max_entries: int = 10_000
    max_total_bytes: int = 100 * 1024 * 1024
    #: Largest central directory accepted (bounds what ``zipfile`` builds in memory).
    max_directory_bytes: int = 8 * 1024 * 1024
    #: Entries larger than ``ratio_floor`` may inflate at most this many times their packed size.
    max_ratio: int = 200
    ratio_floor: int = 1024 * 1024


@dataclass(frozen=True)
class ArchiveEntry:
    path: str
    kind: Literal["file", "folder"]
    text: str | None = None


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: SkipReason

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class ArchiveContents:
    entries: list[ArchiveEntry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def file_count(self) -> int:
        return sum(1 for entry in self.entries if entry.kind == "file")


def decode_text(data: bytes) -> str | None:
    """The text of ``data`` if it is UTF-8 without NUL bytes, else None (binary)."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def reported(name: str) -> str:
    """An entry name as echoed back in a report: bounded, never bytes the JSON can't carry."""
    text = name.encode("utf-8", "replace").decode("utf-8", "replace")
    return text if len(text) <= _REPORTED_PATH_CHARS else text[:_REPORTED_PATH_CHARS] + "…"


def _not_a_zip() -> BadRequest:
    return BadRequest("The body is not a readable zip archive.", code="invalid_archive")


def _check_directory(fp: IO[bytes], limits: ImportLimits) -> None:
    """Bound the central directory (entry count and size) before ``zipfile`` parses it."""
    fp.seek(0, 2)
    size = fp.tell()
    if size < _EOCD_SIZE:
        raise _not_a_zip()
    tail_size = min(size, _EOCD_SIZE + _MAX_COMMENT)
    fp.seek(size - tail_size)
    tail = fp.read(tail_size)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        raise _not_a_zip()
    count, directory_size = struct.unpack("<HI", tail[at + 10 : at + 16])
    if count == 0xFFFF or directory_size == 0xFFFFFFFF:
        locator = at - 20
        if locator < 0 or tail[locator : locator + 4] != _ZIP64_LOCATOR:
            raise _not_a_zip()
        (record_offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        if record_offset > size - 56:
            raise _not_a_zip()
        fp.seek(record_offset)
        record = fp.read(56)
        if record[:4] != _ZIP64_EOCD:
            raise _not_a_zip()
        count, directory_size = struct.unpack("<QQ", record[32:48])
    if count > limits.max_entries:
        raise PayloadTooLarge(
            f"The archive has {count} entries; at most {limits.max_entries} can be imported.", code="too_many_entries"
        )
    if directory_size > limits.max_directory_bytes:
        raise PayloadTooLarge("The archive's table of contents is too large.", code="archive_too_large")
    fp.seek(0)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _read_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """At most ``limit`` bytes of the entry; None when it holds more."""
    chunks: list[bytes] = []
    total = 0
    with archive.open(info) as member:
        while True:
            chunk = member.read(_READ_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def read_archive(fp: IO[bytes], limits: ImportLimits) -> ArchiveContents:
    """Every entry of the zip in ``fp`` that can become a file or folder, and what was skipped.

    Raises BadRequest (400) for something that is not a zip and PayloadTooLarge (413) when the
    archive breaks a limit that bounds the work (entries, table of contents, total size).
    """
    _check_directory(fp, limits)
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise _not_a_zip() from None
    result = ArchiveContents()
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise PayloadTooLarge(
                f"The archive has {len(infos)} entries; at most {limits.max_entries} can be imported.",
                code="too_many_entries",
            )
        seen: set[str] = set()
        budget = [limits.max_total_bytes]
        for info in infos:
            outcome = _entry(archive, info, limits, seen, budget)
            if isinstance(outcome, Skipped):
                result.skipped.append(outcome)
                continue
            seen.add(path_key(outcome.path))
            result.entries.append(outcome)
    return result


def _entry(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limits: ImportLimits,
    seen: set[str],
    budget: list[int],
) -> ArchiveEntry | Skipped:
    """The entry as a file or folder to create, or why it is skipped.

    ``budget`` holds the bytes the archive may still inflate. Every entry that is read is
    charged its declared size (``zipfile`` inflates no more), whether it is then kept or skipped
    as binary or unreadable: otherwise thousands of binary entries could each inflate to the
    per-file limit without ever counting.
    """
    raw = info.orig_filename
    shown = reported(raw)
    is_folder = info.is_dir()
    name = raw[:-1] if is_folder else raw
    if len(name.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES * 4:
        return Skipped(shown, "invalid_path")
    try:
        path = normalize_path(name)
    except PathRejected:
        return Skipped(shown, "invalid_path")
    key = path_key(path)
    if key in seen:
        return Skipped(path, "duplicate")
    if _is_symlink(info):
        return Skipped(path, "symlink")
    if is_folder:
        return ArchiveEntry(path, "folder")
    if info.flag_bits & 0x1:
        return Skipped(path, "encrypted")
    if info.compress_type not in _SUPPORTED_COMPRESSION:
        return Skipped(path, "unsupported_compression")
    if info.file_size > limits.max_file_bytes:
        return Skipped(path, "too_large")
    if info.file_size > limits.ratio_floor and info.file_size > info.compress_size * limits.max_ratio:
        return Skipped(path, "suspicious_compression")
    if info.file_size > budget[0]:
        raise PayloadTooLarge(
            f"The archive unpacks to more than {limits.max_total_bytes} bytes.", code="archive_too_large"
        )
    budget[0] -= info.file_size
    try:
        data = _read_limited(archive, info, limits.max_file_bytes)
    except Exception:  # a bad CRC, a corrupt deflate/bzip2/lzma stream, a truncated entry
        return Skipped(path, "unreadable")
    if data is None:
        return Skipped(path, "too_large")
    text = decode_text(data)
    if text is None:
        return Skipped(path, "binary")
    return ArchiveEntry(path, "file", text)


@dataclass(frozen=True)
class ExportEntry:
    path: str
    kind: Literal["file", "folder"]
    updated_at_ms: int
    text: str = ""


def _zip_time(ms: int) -> tuple[int, int, int, int, int, int]:
    parts = time.gmtime(max(ms // 1000, 315532800))  # zip dates start in 1980
    return (parts.tm_year, parts.tm_mon, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)


def add_entry(archive: zipfile.ZipFile, entry: ExportEntry) -> None:
    """Add one folder (as a ``path/`` entry) or file (deflated UTF-8) to an open archive."""
    if entry.kind == "folder":
        info = zipfile.ZipInfo(entry.path + "/", _zip_time(entry.updated_at_ms))
        info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
        archive.writestr(info, b"")
    else:
        info = zipfile.ZipInfo(entry.path, _zip_time(entry.updated_at_ms))
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, entry.text.encode("utf-8"))


def open_export(fp: IO[bytes]) -> zipfile.ZipFile:
    return zipfile.ZipFile(fp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)


def write_archive(fp: IO[bytes], entries: Iterable[ExportEntry]) -> None:
    """Write a zip of ``entries`` at once (see :func:`add_entry`)."""
    with open_export(fp) as archive:
        for entry in entries:
            add_entry(archive, entry)

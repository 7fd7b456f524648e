"""Rebuilding a document from its history rows: text per version, diffs, authorship per line.

History rows are Yjs v1 updates in the order they were stored. Replaying them into a fresh
``Doc`` gives the text at any version; watching the text's deltas while replaying tells which
row (so which person) inserted each character that is still there. Yjs deltas count UTF-8
bytes (as pycrdt indexes text), so attributions are kept per byte of the current text.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pycrdt

from collabcode.collab.protocol import ProtocolError, guarded
from collabcode.collab.room import TEXT_NAME
from collabcode.db import Row

__all__ = ["Attribution", "LineAuthor", "attribute_lines", "merge_rows", "text_of", "texts_by_version", "unified_diff"]


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who wrote something and when: one author, or the authors of a merged (old) span."""

    author_id: str | None
    via: str | None
    authors: tuple[str, ...]
    at: int

    @classmethod
    def of(cls, row: Row) -> Attribution:
        raw = row.get("authors")
        merged = tuple(str(a) for a in json.loads(str(raw))) if raw else ()
        author = row.get("author_id")
        via = row.get("via")
        return cls(
            None if author is None else str(author),
            None if via is None else str(via),
            merged,
            int(row["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class LineAuthor:
    """Line ``line`` (1-based) was last written by ``who`` (None: nothing of it is left to credit)."""

    line: int
    who: Attribution | None


class HistoryCorrupt(Exception):
    """A stored history row does not decode."""


def _apply(doc: pycrdt.Doc[Any], data: bytes) -> None:
    try:
        guarded(lambda: doc.apply_update(data))
    except ProtocolError as exc:
        raise HistoryCorrupt(str(exc)) from exc


def merge_rows(rows: Sequence[Row]) -> bytes | None:
    """All rows' updates merged into one (None for no rows)."""
    parts = [bytes(row["data"]) for row in rows]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    try:
        return guarded(lambda: pycrdt.merge_updates(*parts))
    except ProtocolError as exc:
        raise HistoryCorrupt(str(exc)) from exc


def text_of(update: bytes | None) -> str:
    """The file text a merged update holds."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = doc.get(TEXT_NAME, type=pycrdt.Text)
    if update:
        _apply(doc, update)
    return str(text)


def texts_by_version(rows: Sequence[Row]) -> Iterator[tuple[int, str]]:
    """(version, text after it) for every version the rows hold, oldest first, in one replay."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = doc.get(TEXT_NAME, type=pycrdt.Text)
    index = 0
    while index < len(rows):
        seq = int(rows[index]["seq"])
        while index < len(rows) and int(rows[index]["seq"]) == seq:
            _apply(doc, bytes(rows[index]["data"]))
            index += 1
        yield seq, str(text)


def attribute_bytes(rows: Sequence[Row]) -> tuple[str, list[Attribution | None]]:
    """The final text and, per UTF-8 byte of it, the attribution of the row that inserted it."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = doc.get(TEXT_NAME, type=pycrdt.Text)
    marks: list[Attribution | None] = []
    current: list[Attribution | None] = [None]

    def on_change(event: Any) -> None:
        position = 0
        for op in event.delta:
            if "retain" in op:
                position += int(op["retain"])
            elif "delete" in op:
                del marks[position : position + int(op["delete"])]
            elif "insert" in op:
                inserted = op["insert"]
                size = len(inserted.encode("utf-8")) if isinstance(inserted, str) else 1
                marks[position:position] = [current[0]] * size
                position += size

    subscription = text.observe(on_change)
    try:
        for row in rows:
            current[0] = Attribution.of(row)
            _apply(doc, bytes(row["data"]))
    finally:
        text.unobserve(subscription)
    return str(text), marks


def attribute_lines(rows: Sequence[Row]) -> tuple[str, list[LineAuthor]]:
    """The final text and who last wrote each of its lines (the newest character that is left).

    A line's own newline does not count: pressing Enter at the end of someone's line does not
    make it yours. An empty line is credited to whoever inserted its newline.
    """
    final, marks = attribute_bytes(rows)
    encoded = final.encode("utf-8")
    if len(marks) != len(encoded):  # never expected; credit nobody rather than the wrong person
        marks = (marks + [None] * len(encoded))[: len(encoded)]
    lines: list[LineAuthor] = []
    start = 0
    number = 1
    while True:
        end = encoded.find(b"\n", start)
        stop = len(encoded) if end < 0 else end
        span = [m for m in marks[start:stop] if m is not None]
        newline = marks[end] if end >= 0 else None
        if not span and newline is not None:
            span = [newline]
        best = max(span, key=lambda m: m.at, default=None) if span else None
        if best is not None:
            # The newest write wins; among equal times the last one in the line.
            newest = [m for m in span if m.at == best.at]
            best = newest[-1]
        if end >= 0 or start < len(encoded):
            lines.append(LineAuthor(number, best))
        if end < 0:
            break
        start = end + 1
        number += 1
    return final, lines


def unified_diff(old: str, new: str, old_label: str, new_label: str, context: int = 3) -> str:
    """A unified diff of two texts (empty when they are equal)."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
            n=context,
        )
    )

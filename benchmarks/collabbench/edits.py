"""The Yjs updates benchmark clients send, built with pycrdt before any clock starts.

* typing: one writer appending one ASCII character per edit. Edit ``i`` of a writer whose
  document starts empty has clock ``i``, which is how a receiver matches a delivery to its send.
* history: several authors typing, moving around and deleting in one document, exchanging their
  changes every few dozen edits, like a long editing session; it ends up as a fragmented
  document whose fresh sync is what a late joiner waits for.
* large: a 1 MB file pasted in 4 KiB pieces.

Every document uses the root ``Y.Text`` named ``content`` (collabcode's name; the peers do not
care).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Any

import pycrdt

TEXT = "content"
_ALPHABET = string.ascii_lowercase


def typing_updates(client_id: int, count: int) -> list[bytes]:
    """``count`` single-character appends by one writer, one v1 update each."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
    text = doc.get(TEXT, type=pycrdt.Text)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    for i in range(count):
        text += _ALPHABET[i % 26]
    doc.unobserve(subscription)
    return updates


@dataclass(frozen=True, slots=True)
class SeedDocument:
    """A document to load into a server before measuring its fresh sync."""

    name: str
    chunks: list[bytes]  # sent in order as sync updates
    text_length: int  # what a client must see after syncing
    encoded_bytes: int  # size of the whole document as one v1 update
    edits: int


def history_document(edits: int, *, authors: int = 8, exchange_every: int = 50, seed: int = 1) -> SeedDocument:
    """``edits`` edits by ``authors`` concurrent authors: ~85 % typed characters, ~15 % backspaces."""
    rng = random.Random(seed)
    docs: list[pycrdt.Doc[Any]] = [pycrdt.Doc(client_id=1000 + i) for i in range(authors)]
    texts = [doc.get(TEXT, type=pycrdt.Text) for doc in docs]
    cursors = [0] * authors
    chunks: list[bytes] = []
    seen = [0] * authors  # how many chunks each author has applied
    done = 0
    while done < edits:
        author = rng.randrange(authors)
        doc, text = docs[author], texts[author]
        missing = chunks[seen[author] :]
        if missing:  # catch up with the others' edits before typing
            doc.apply_update(pycrdt.merge_updates(*missing) if len(missing) > 1 else missing[0])
        burst = min(exchange_every, edits - done)
        length = len(text)
        cursor = min(cursors[author], length)
        if rng.random() < 0.1:
            cursor = rng.randint(0, length)  # the author clicks somewhere else
        captured: list[bytes] = []
        subscription = doc.observe(lambda event: captured.append(event.update))  # noqa: B023
        with doc.transaction():
            for _ in range(burst):
                if cursor > 0 and rng.random() < 0.15:
                    cursor -= 1
                    del text[cursor]
                    length -= 1
                else:
                    text.insert(cursor, rng.choice(_ALPHABET) if rng.random() < 0.85 else " ")
                    cursor += 1
                    length += 1
        cursors[author] = cursor
        done += burst
        doc.unobserve(subscription)
        # The transaction's own update: its structs and only its deletions (a diff against a
        # state vector would repeat the document's whole delete set every time).
        chunks.extend(captured)
        seen[author] = len(chunks)
    final: pycrdt.Doc[Any] = pycrdt.Doc()
    final.apply_update(pycrdt.merge_updates(*chunks))
    length = len(final.get(TEXT, type=pycrdt.Text))
    return SeedDocument(f"{edits // 1000}k-edit", chunks, length, len(final.get_update()), edits)


def large_document(size: int = 1_000_000, *, piece: int = 4096, seed: int = 2) -> SeedDocument:
    """A ``size``-byte ASCII file pasted in ``piece``-byte inserts at the end."""
    rng = random.Random(seed)
    words = ["def", "return", "self", "value", "import", "class", "for", "in", "if", "else", "(x)", "=", "+", ":"]
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=999)
    text = doc.get(TEXT, type=pycrdt.Text)
    chunks: list[bytes] = []
    subscription = doc.observe(lambda event: chunks.append(event.update))
    written = 0
    while written < size:
        line_parts: list[str] = []
        body = ""
        while len(body) < piece:
            line_parts.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 10))))
            body = "\n".join(line_parts) + "\n"
        body = body[: min(piece, size - written)]
        text += body
        written += len(body)
    doc.unobserve(subscription)
    label = f"{size // 1_000_000} MB" if size % 1_000_000 == 0 else f"{size // 1000} kB"
    return SeedDocument(label, chunks, len(text), len(doc.get_update()), len(chunks))

"""y-websocket frames and one benchmark client connection.

The messages themselves come from collabcode's codec (``collabcode.collab.protocol``). Two
framings exist among the targets:

* ``plain``: one y-websocket message per frame, the document named by the URL (collabcode,
  the y-websocket reference server, pycrdt-websocket);
* ``hocuspocus``: every message is prefixed with the document name, the socket may carry
  several documents, and a document opens with an auth message (Hocuspocus's provider protocol,
  otherwise the same sync and awareness messages).

The receive path is the hot path of the load generator: it reads only the few varints it needs
and hands sync updates to a callback with their receive time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect

from collabcode.collab.protocol import (
    EMPTY_UPDATE,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
    write_var_uint8_array,
)

PLAIN = "plain"
HOCUSPOCUS = "hocuspocus"

#: Largest frame a benchmark client accepts (a fresh sync of the 1 MB document is ~1 MB).
MAX_FRAME = 64 * 1024 * 1024

# Message types (y-websocket 0-3; Hocuspocus adds 4 = sync reply, 8 = sync status).
_SYNC = 0
_SYNC_REPLY = 4
_STEP1 = 0
_STEP2 = 1
_UPDATE = 2
_HOCUSPOCUS_AUTH = 2
_HOCUSPOCUS_TOKEN = 0

#: Called with (update bytes, receive time in ns) for every sync update a client receives.
UpdateCallback = Callable[[bytes, int], None]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How one client reaches one document: picklable, so worker processes can receive it."""

    url: str
    doc: str
    framing: str = PLAIN
    headers: tuple[tuple[str, str], ...] = ()
    token: str = ""


def read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    """lib0 varuint at ``pos``: (value, next position)."""
    value = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _skip_var_bytes(data: bytes, pos: int) -> int:
    length, pos = read_var_uint(data, pos)
    return pos + length


def update_ranges(update: bytes) -> list[tuple[int, int, int]]:
    """The (client, first clock, end clock) ranges of the structs in a v1 update.

    Enough of the Yjs v1 struct format to measure lengths: GC, skip and items with deleted,
    JSON, binary, string, embed, format and type content. Any other content (``Any``, subdocs)
    ends the scan of that update; the benchmark's own edits never contain it.
    """
    ranges: list[tuple[int, int, int]] = []
    groups, pos = read_var_uint(update, 0)
    for _ in range(groups):
        structs, pos = read_var_uint(update, pos)
        client, pos = read_var_uint(update, pos)
        start, pos = read_var_uint(update, pos)
        clock = start
        for _ in range(structs):
            info = update[pos]
            pos += 1
            ref = info & 0x1F
            if ref in (0, 10):  # GC, skip
                length, pos = read_var_uint(update, pos)
                clock += length
                continue
            if info & 0x80:  # origin id
                pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
            if info & 0x40:  # right origin id
                pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
            if not info & 0xC0:  # parent: a root type name or an item id, then an optional key
                named, pos = read_var_uint(update, pos)
                if named == 1:
                    pos = _skip_var_bytes(update, pos)
                else:
                    pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
                if info & 0x20:
                    pos = _skip_var_bytes(update, pos)
            if ref == 4:  # string: length in UTF-16 code units
                length, pos = read_var_uint(update, pos)
                text = update[pos : pos + length]
                pos += length
                clock += length if text.isascii() else len(text.decode("utf-8").encode("utf-16-le")) // 2
            elif ref == 1:  # deleted
                length, pos = read_var_uint(update, pos)
                clock += length
            elif ref == 2:  # JSON values
                count, pos = read_var_uint(update, pos)
                for _ in range(count):
                    pos = _skip_var_bytes(update, pos)
                clock += count
            elif ref in (3, 5):  # binary, embed
                pos = _skip_var_bytes(update, pos)
                clock += 1
            elif ref == 6:  # format
                pos = _skip_var_bytes(update, _skip_var_bytes(update, pos))
                clock += 1
            elif ref == 7:  # type
                type_ref, pos = read_var_uint(update, pos)
                if type_ref in (3, 4):
                    pos = _skip_var_bytes(update, pos)
                clock += 1
            else:
                ranges.append((client, start, clock))
                return ranges
        ranges.append((client, start, clock))
    return ranges


@dataclass(slots=True)
class Client:
    """One WebSocket connection to one document, speaking y-websocket (or Hocuspocus framing).

    ``on_update`` receives every sync update (and the step 2 of a sync) after the handshake;
    ``answer_step1`` builds the step 2 a client returns when the server asks with its step 1
    (an empty update, unless the client holds changes of its own).
    """

    endpoint: Endpoint
    on_update: UpdateCallback | None = None
    answer_step1: Callable[[bytes], bytes] | None = None
    ws: ClientConnection | None = None
    received: int = 0
    _prefix: bytes = b""
    _synced: asyncio.Future[bytes] | None = None
    _reader: asyncio.Task[None] | None = None
    _closed: bool = False
    errors: list[str] = field(default_factory=list)

    async def open(self, timeout: float = 10.0) -> None:
        endpoint = self.endpoint
        if endpoint.framing == HOCUSPOCUS:
            self._prefix = write_var_uint8_array(endpoint.doc.encode())
        self.ws = await connect(
            endpoint.url,
            additional_headers=list(endpoint.headers),
            compression=None,
            max_size=MAX_FRAME,
            ping_interval=None,
            open_timeout=timeout,
            close_timeout=2,
            user_agent_header=None,
        )

    def _wrap(self, message: bytes) -> bytes:
        return self._prefix + message if self._prefix else message

    async def sync(self, state_vector: bytes = b"\x00", timeout: float = 10.0) -> bytes:
        """Send step 1 and wait for the server's step 2; returns that diff."""
        assert self.ws is not None
        loop = asyncio.get_running_loop()
        self._synced = loop.create_future()
        if self._reader is None:
            self._reader = loop.create_task(self._read())
        frames = []
        if self.endpoint.framing == HOCUSPOCUS:
            token = write_var_uint8_array(self.endpoint.token.encode())
            frames.append(self._wrap(bytes([_HOCUSPOCUS_AUTH, _HOCUSPOCUS_TOKEN]) + token))
        frames.append(self._wrap(encode_sync_step1(state_vector)))
        for frame in frames:
            await self.ws.send(frame)
        return await asyncio.wait_for(self._synced, timeout)

    async def send_update(self, update: bytes) -> None:
        assert self.ws is not None
        await self.ws.send(self._wrap(encode_sync_update(update)))

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        hocuspocus = bool(self._prefix)
        try:
            async for data in ws:
                now = time.monotonic_ns()
                if isinstance(data, str):
                    continue
                self.received += 1
                pos = _skip_var_bytes(data, 0) if hocuspocus else 0
                kind = data[pos]
                if kind != _SYNC and kind != _SYNC_REPLY:
                    continue  # awareness, auth, sync status, saved: not measured
                step = data[pos + 1]
                length, start = read_var_uint(data, pos + 2)
                payload = data[start : start + length]
                if step == _UPDATE:
                    if self.on_update is not None:
                        self.on_update(payload, now)
                elif step == _STEP2:
                    synced = self._synced
                    if synced is not None and not synced.done():
                        synced.set_result(payload)
                    elif self.on_update is not None:
                        self.on_update(payload, now)
                elif step == _STEP1:
                    answer = self.answer_step1(payload) if self.answer_step1 else EMPTY_UPDATE
                    await ws.send(self._wrap(encode_sync_step2(answer)))
        except Exception as exc:  # the connection ended under us: recorded, reported by the caller
            if not self._closed:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            synced = self._synced
            if synced is not None and not synced.done():
                synced.set_exception(ConnectionError(f"closed before sync ({'; '.join(self.errors) or 'eof'})"))
                synced.exception()  # whoever waits gets it; nobody waiting is not an error

    async def close(self) -> None:
        self._closed = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 3)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader

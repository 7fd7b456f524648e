"""A real HTTP AI provider on 127.0.0.1 for tests: OpenAI, Ollama and llama.cpp wire formats.

It runs its own event loop in a thread, so sync tests, async tests and browser tests (where the
app runs in another process) can all use it. It speaks just enough HTTP/1.1 (one request per
connection, chunked streaming) to control every byte: answers are scripted, and the next request
can be told to fail with a status, send a malformed stream, drop the connection mid-stream, hang
or go slowly. Every request is recorded in :attr:`FakeAIProvider.requests`, including whether the
client closed the connection before the answer was complete (``client_closed``), which is how
tests see that our side cancelled the upstream request.

Routes: ``POST /v1/chat/completions`` (SSE), ``POST /v1/completions`` (SSE, ``suffix`` or FIM
tokens in ``prompt``), ``POST /api/generate`` (Ollama NDJSON), ``POST /infill`` (llama.cpp SSE),
``GET /api/tags`` and ``GET /v1/models``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

GENERATION_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/api/generate", "/infill"})


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    client_closed: bool = False
    """True when the client closed the connection before the answer was complete."""
    finished: bool = False
    """True once the answer was fully written (or the connection ended)."""
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def text(self) -> str:
        """Everything the request carried, for "this never reached the provider" checks."""
        return self.body.decode("utf-8", "replace")


@dataclass
class Behavior:
    """How to answer one generation request (defaults: the scripted answer, at once)."""

    status: int | None = None
    malformed: bool = False
    disconnect_after: int | None = None
    hang: bool = False
    delay: float = 0.0
    first_delay: float = 0.0
    chunks: list[str] | None = None


class FakeAIProvider:
    """The test provider. ``with FakeAIProvider() as provider: ... provider.url``."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.models = ["qwen2.5-coder:1.5b", "llama3.2:1b"]
        self.api_key: str | None = None
        self.chunk_delay = 0.0
        self.usage: tuple[int, int] | None = None
        self._chat: list[str] = ["Hello", " from", " the", " assistant."]
        self._completion: list[str] = ["return", " a + b"]
        self._next: list[Behavior] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0

    # -- scripting --------------------------------------------------------------------------------

    def script_chat(self, chunks: list[str]) -> None:
        """The chat answer, as the pieces it streams in."""
        self._chat = list(chunks)

    def script_completion(self, text: str | list[str]) -> None:
        """The completion answer (a list streams piece by piece)."""
        self._completion = [text] if isinstance(text, str) else list(text)

    def next(self, **behavior: Any) -> None:
        """Queue a one-off :class:`Behavior` for the next generation request."""
        with self._lock:
            self._next.append(Behavior(**behavior))

    def fail_next(self, status: int = 500) -> None:
        self.next(status=status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def generation_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path in GENERATION_PATHS]

    def wait_finished(self, request: RecordedRequest, timeout: float = 10.0) -> bool:
        """Block until the answer to ``request`` ended (completed or the client went away)."""
        return request._done.wait(timeout)

    async def wait_finished_async(self, request: RecordedRequest, timeout: float = 10.0) -> bool:
        return await asyncio.to_thread(request._done.wait, timeout)

    async def wait_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait (async) until ``count`` generation requests arrived."""
        deadline = time.monotonic() + timeout
        while len(self.generation_requests()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the provider got {len(self.generation_requests())} requests, not {count}")
            await asyncio.sleep(0.01)
        return self.generation_requests()

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> FakeAIProvider:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def main() -> None:
                self._stop = asyncio.Event()
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()
                await self._stop.wait()
                self._server.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._server.wait_closed(), 2)

            loop.run_until_complete(main())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-ai-provider", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake AI provider did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeAIProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        record: RecordedRequest | None = None
        try:
            record = await self._read_request(reader)
            if record is None:
                return
            self.requests.append(record)
            await self._route(record, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            if record is not None:
                record.client_closed = True
        finally:
            if record is not None:
                record.finished = True
                record._done.set()
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> RecordedRequest | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = b""
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        parsed = None
        if body:
            with contextlib.suppress(ValueError):
                parsed = json.loads(body)
        return RecordedRequest(method, path.split("?", 1)[0], headers, body, parsed)

    async def _route(self, record: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.api_key is not None and record.headers.get("authorization") != f"Bearer {self.api_key}":
            # Like some real providers, echo what was presented (the caller must never log it).
            presented = record.headers.get("authorization", "").removeprefix("Bearer ")
            await self._plain(writer, 401, {"error": {"message": f"Incorrect API key provided: {presented}"}})
            return
        if record.method == "GET" and record.path == "/api/tags":
            await self._plain(writer, 200, {"models": [{"name": name} for name in self.models]})
            return
        if record.method == "GET" and record.path == "/v1/models":
            await self._plain(writer, 200, {"object": "list", "data": [{"id": name} for name in self.models]})
            return
        if record.method != "POST" or record.path not in GENERATION_PATHS:
            await self._plain(writer, 404, {"error": "not found"})
            return
        with self._lock:
            behavior = self._next.pop(0) if self._next else Behavior()
        if behavior.status is not None:
            await self._plain(writer, behavior.status, {"error": {"message": "upstream exploded"}})
            return
        await self._stream(record, behavior, reader, writer)

    async def _plain(self, writer: asyncio.StreamWriter, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n"
            "connection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()

    async def _stream(
        self, record: RecordedRequest, behavior: Behavior, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        ndjson = record.path == "/api/generate"
        kind = "application/x-ndjson" if ndjson else "text/event-stream"
        head = f"HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        writer.write(head.encode())
        await writer.drain()
        # The client sends nothing more on this connection: EOF means it went away.
        gone = asyncio.ensure_future(reader.read(1))
        try:
            if behavior.first_delay or behavior.hang:
                wait = 60.0 if behavior.hang else behavior.first_delay
                await asyncio.wait({gone}, timeout=wait)
            pieces = self._pieces(record, behavior)
            for index, piece in enumerate(pieces):
                if gone.done():
                    record.client_closed = True
                    return
                if behavior.disconnect_after is not None and index >= behavior.disconnect_after:
                    writer.transport.abort()
                    return
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
                delay = behavior.delay or self.chunk_delay
                if delay:
                    await asyncio.wait({gone}, timeout=delay)
            if gone.done():
                record.client_closed = True
                return
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        finally:
            gone.cancel()

    def _pieces(self, record: RecordedRequest, behavior: Behavior) -> list[bytes]:
        body = record.json if isinstance(record.json, dict) else {}
        path = record.path
        if behavior.malformed:
            return [b"{this is not json\n"] if path == "/api/generate" else [b'data: {"choices": [\n\n']
        chunks = (
            behavior.chunks
            if behavior.chunks is not None
            else (self._chat if path == "/v1/chat/completions" else self._completion)
        )
        prompt_tokens, answer_tokens = self.usage or (max(1, len(record.body) // 4), max(1, len("".join(chunks)) // 4))
        model = str(body.get("model", "fake"))
        if path == "/api/generate":
            lines = [{"model": model, "response": c, "done": False} for c in chunks]
            lines.append(
                {
                    "model": model,
                    "response": "",
                    "done": True,
                    "done_reason": "stop",
                    "prompt_eval_count": prompt_tokens,
                    "eval_count": answer_tokens,
                }
            )
            return [json.dumps(line).encode() + b"\n" for line in lines]
        if path == "/infill":
            events: list[dict[str, Any]] = [{"content": c, "stop": False} for c in chunks]
            events.append(
                {
                    "content": "",
                    "stop": True,
                    "stop_type": "eos",
                    "tokens_evaluated": prompt_tokens,
                    "tokens_predicted": answer_tokens,
                }
            )
            return [f"data: {json.dumps(e)}\n\n".encode() for e in events]
        if path == "/v1/chat/completions":
            events = [
                {
                    "object": "chat.completion.chunk",
                    "model": model,
                    "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}],
                }
            ]
            events += [
                {
                    "object": "chat.completion.chunk",
                    "model": model,
                    "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}],
                }
                for c in chunks
            ]
            events.append(
                {
                    "object": "chat.completion.chunk",
                    "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
            )
        else:
            events = [
                {
                    "object": "text_completion",
                    "model": model,
                    "choices": [{"index": 0, "text": c, "finish_reason": None}],
                }
                for c in chunks
            ]
            events.append(
                {
                    "object": "text_completion",
                    "model": model,
                    "choices": [{"index": 0, "text": "", "finish_reason": "stop"}],
                }
            )
        if (body.get("stream_options") or {}).get("include_usage") or path == "/v1/completions":
            events.append(
                {"choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": answer_tokens}}
            )
        out = [f"data: {json.dumps(e)}\n\n".encode() for e in events]
        out.append(b"data: [DONE]\n\n")
        return out


@pytest.fixture
def fake_ai_provider() -> Iterator[FakeAIProvider]:
    """A started :class:`FakeAIProvider`, stopped after the test."""
    with FakeAIProvider() as provider:
        yield provider

"""The provider interface and the HTTP plumbing every provider shares.

Answers are async generators of :class:`Chunk`. The upstream request lives inside the generator
(``async with client.stream(...)``), so closing the generator, or cancelling the task iterating
it, closes the upstream connection: a browser that goes away stops the model's work.

Transport failures map to our errors in one place (:func:`upstream`): refused connections and
timeouts are 503 (``Retry-After``), HTTP errors and broken or malformed streams are 502.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from collabcode.assistant.providers.errors import (
    ProviderFailed,
    ProviderUnavailable,
    cut_off,
    malformed,
    provider_timeout,
)

log = logging.getLogger(__name__)

#: Longest single line accepted from a provider stream; a longer one is a malformed answer.
MAX_LINE_CHARS = 1 << 20


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Chunk:
    """A piece of an answer; the last one carries ``finish_reason`` and, if known, ``usage``."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


@dataclass(frozen=True)
class Snippet:
    """Text of another file the user may read, sent as context."""

    path: str
    text: str


@dataclass(frozen=True)
class FimRequest:
    """A fill-in-the-middle request: the code before and after the cursor, and context."""

    model: str
    prefix: str
    suffix: str
    path: str
    language: str
    max_tokens: int
    snippets: tuple[Snippet, ...] = field(default=())
    temperature: float = 0.2


class Provider(Protocol):
    kind: str

    def chat(
        self, messages: list[ChatMessage], *, model: str, max_tokens: int, temperature: float = 0.2
    ) -> AsyncGenerator[Chunk, None]:
        """Stream a chat answer."""
        ...

    def complete(self, request: FimRequest) -> AsyncGenerator[Chunk, None]:
        """Stream the text that fits between ``prefix`` and ``suffix``."""
        ...

    async def list_models(self) -> list[str]:
        """The models the server offers (a cheap real request, used by the doctor)."""
        ...


def api_root(base_url: str) -> str:
    """The server root: ``https://host/v1`` and ``https://host/v1/`` both become ``https://host``."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def status_error(status: int, detail: str, api_key: str = "") -> Exception:
    """Our error for an HTTP error status from the provider."""
    log.warning("AI provider answered HTTP %d: %s", status, scrub(_error_message(detail), api_key)[:120])
    if status in {401, 403}:
        return ProviderFailed(
            "The AI provider refused the API key; an admin should check COLLABCODE_AI_API_KEY.", code="ai_auth_failed"
        )
    if status == 404:
        return ProviderFailed(
            "The AI provider does not know this model or endpoint; an admin should check the model settings.",
            code="ai_model_not_found",
        )
    if status == 429:
        return ProviderUnavailable("The AI provider is busy or over its quota; try again shortly.", code="ai_busy")
    if status == 503:
        return ProviderUnavailable("The AI provider is overloaded or loading a model; try again shortly.")
    return ProviderFailed()


_KEY_LIKE = re.compile(r"\b(?:sk|pk|rk|key|token)[-_][A-Za-z0-9_\-]{8,}")


def scrub(text: str, api_key: str = "") -> str:
    """Mask the API key (providers echo a refused key back) and anything shaped like a key."""
    if api_key and len(api_key) >= 4:
        text = text.replace(api_key, "***")
    return _KEY_LIKE.sub("***", text)


def _error_message(detail: str) -> str:
    """The provider's own error message, masked and short: enough to diagnose, too short for a prompt."""
    try:
        body = json.loads(detail)
    except ValueError:
        return detail[:2000]
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return str(message)[:2000] if message else ""


@asynccontextmanager
async def upstream(
    client: httpx.AsyncClient, method: str, url: str, body: Mapping[str, Any] | None, *, read_timeout: float
) -> AsyncIterator[httpx.Response]:
    """An open streaming response with a 2xx status; transport failures become our errors."""
    try:
        async with client.stream(method, url, json=body) as response:
            if response.status_code >= 400:
                detail = (await response.aread())[:2000].decode("utf-8", "replace")
                api_key = client.headers.get("authorization", "").removeprefix("Bearer ")
                raise status_error(response.status_code, detail, api_key)
            yield response
    except httpx.TimeoutException:
        raise provider_timeout(read_timeout) from None
    except (httpx.ConnectError, httpx.ConnectTimeout):
        raise ProviderUnavailable() from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        raise cut_off() from None
    except httpx.HTTPError as exc:
        log.warning("AI provider request failed: %s", type(exc).__name__)
        raise ProviderUnavailable() from None


async def _lines(response: httpx.Response) -> AsyncIterator[str]:
    async for line in response.aiter_lines():
        if len(line) > MAX_LINE_CHARS:
            raise malformed()
        yield line


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise malformed() from None
    if not isinstance(value, dict):
        raise malformed()
    return value


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any] | None]:
    """The JSON ``data:`` payloads of an SSE stream; ``None`` for the ``[DONE]`` marker.

    Comments, ``event:``/``id:``/``retry:`` fields and blank lines are skipped; multi-line data
    is joined as the SSE spec says.
    """
    data: list[str] = []
    async for line in _lines(response):
        if line == "":
            if data:
                payload = "\n".join(data)
                data = []
                if payload.strip() == "[DONE]":
                    yield None
                    return
                yield _json(payload)
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        payload = "\n".join(data)
        if payload.strip() == "[DONE]":
            yield None
            return
        yield _json(payload)


async def read_json(response: httpx.Response, limit: int = 4 << 20) -> dict[str, Any]:
    """A whole (small) JSON object body, e.g. a model list."""
    raw = b""
    async for part in response.aiter_bytes():
        raw += part
        if len(raw) > limit:
            raise malformed()
    return _json(raw.decode("utf-8", "replace"))


async def ndjson_objects(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """One JSON object per non-empty line (Ollama's native streams)."""
    async for line in _lines(response):
        if line.strip():
            yield _json(line)


def error_in_payload(payload: Mapping[str, Any]) -> None:
    """Some servers report failures inside a 200 stream as ``{"error": ...}``."""
    if payload.get("error"):
        log.warning("AI provider reported an error in its stream: %s", scrub(_error_message(json.dumps(payload)))[:120])
        raise ProviderFailed()


def int_field(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    return value if isinstance(value, int) and value >= 0 else 0


def make_client(api_key: str | None, *, timeout: float, trust_env: bool = False) -> httpx.AsyncClient:
    """The one HTTP client of a provider: timeouts on every phase, the key in a header.

    Proxy variables from the environment apply only to remote providers (``trust_env``).
    """
    headers = {"accept": "application/json, text/event-stream, application/x-ndjson"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        headers=headers,
        trust_env=trust_env,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
    )

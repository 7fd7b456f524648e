"""OpenAI-compatible servers: OpenAI, vLLM, LM Studio, and the ``/v1`` API of Ollama and llama.cpp.

Chat is ``POST /v1/chat/completions`` streamed as data-only SSE ending in ``data: [DONE]``, with
``stream_options.include_usage`` so the budget counts real tokens where the server reports them.
Inline completions use ``POST /v1/completions``: with the ``suffix`` field (OpenAI style), or
with a model family's FIM tokens in ``prompt`` for servers that ignore ``suffix`` (vLLM, LM
Studio); see :mod:`.fim`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx

from collabcode.assistant.providers import fim
from collabcode.assistant.providers.base import (
    ChatMessage,
    Chunk,
    FimRequest,
    Usage,
    api_root,
    error_in_payload,
    int_field,
    read_json,
    sse_events,
    upstream,
)
from collabcode.assistant.providers.errors import cut_off, malformed


def usage_of(payload: dict[str, Any]) -> Usage | None:
    usage = payload.get("usage")
    if not isinstance(usage, dict):
        return None
    return Usage(int_field(usage, "prompt_tokens"), int_field(usage, "completion_tokens"))


class OpenAICompatible:
    """Any server speaking the OpenAI HTTP API."""

    kind = "openai"

    def __init__(self, client: httpx.AsyncClient, base_url: str, *, timeout: float, fim_template: str = "auto") -> None:
        self.client = client
        self.root = api_root(base_url)
        self.timeout = timeout
        self.fim_template = fim_template

    async def chat(
        self, messages: list[ChatMessage], *, model: str, max_tokens: int, temperature: float = 0.2
    ) -> AsyncGenerator[Chunk, None]:
        body = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        async for chunk in self._stream(f"{self.root}/v1/chat/completions", body, chat=True):
            yield chunk

    async def complete(self, request: FimRequest) -> AsyncGenerator[Chunk, None]:
        template = fim.template_for(self.fim_template, request.model)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
        }
        if template is None:
            body.update(prompt=fim.with_context(request), suffix=request.suffix)
        else:
            body.update(prompt=fim.render(template, request), stop=list(template.stop)[:4])
        async for chunk in self._stream(f"{self.root}/v1/completions", body, chat=False):
            yield chunk

    async def _stream(self, url: str, body: dict[str, Any], *, chat: bool) -> AsyncGenerator[Chunk, None]:
        finished = False
        async with upstream(self.client, "POST", url, body, read_timeout=self.timeout) as response:
            async for payload in sse_events(response):
                if payload is None:
                    if not finished:
                        yield Chunk(finish_reason="stop")
                    return
                error_in_payload(payload)
                usage = usage_of(payload)
                choices = payload.get("choices")
                if not isinstance(choices, list):
                    raise malformed()
                text, reason = "", None
                if choices:
                    choice = choices[0]
                    if not isinstance(choice, dict):
                        raise malformed()
                    text = _text_of(choice, chat=chat)
                    reason = choice.get("finish_reason") if isinstance(choice.get("finish_reason"), str) else None
                if reason:
                    finished = True
                if text or reason or usage:
                    yield Chunk(text=text, finish_reason=reason, usage=usage)
        # The stream ended without [DONE]: complete only if a finish reason came.
        if not finished:
            raise cut_off()

    async def list_models(self) -> list[str]:
        async with upstream(self.client, "GET", f"{self.root}/v1/models", None, read_timeout=self.timeout) as response:
            data = (await read_json(response)).get("data")
        if not isinstance(data, list):
            raise malformed()
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]


def _text_of(choice: dict[str, Any], *, chat: bool) -> str:
    if chat:
        delta = choice.get("delta")
        if delta is None:
            return ""
        if not isinstance(delta, dict):
            raise malformed()
        content = delta.get("content")
    else:
        content = choice.get("text")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise malformed()
    return content

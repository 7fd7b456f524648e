"""Ollama: chat through its OpenAI-compatible ``/v1`` API, inline completions through ``/api/generate``.

``/api/generate`` takes the code after the cursor as ``suffix`` and applies the model's own FIM
template (qwen2.5-coder, codellama:code, starcoder2, codestral... define one). When the admin
names a template (``ai_fim_template``), the prompt is built here and sent with ``raw: true`` so
Ollama applies no template at all. The stream is NDJSON: ``{"response": "...", "done": false}``
lines, then one with ``"done": true``, ``done_reason`` and token counts.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from collabcode.assistant.providers import fim
from collabcode.assistant.providers.base import (
    Chunk,
    FimRequest,
    Usage,
    error_in_payload,
    int_field,
    ndjson_objects,
    read_json,
    upstream,
)
from collabcode.assistant.providers.errors import cut_off, malformed
from collabcode.assistant.providers.openai import OpenAICompatible


class Ollama(OpenAICompatible):
    kind = "ollama"

    async def complete(self, request: FimRequest) -> AsyncGenerator[Chunk, None]:
        options: dict[str, Any] = {"num_predict": request.max_tokens, "temperature": request.temperature}
        body: dict[str, Any] = {"model": request.model, "stream": True, "options": options}
        template = fim.TEMPLATES.get(self.fim_template)
        if template is None:
            body.update(prompt=fim.with_context(request), suffix=request.suffix)
        else:
            body.update(prompt=fim.render(template, request), raw=True)
            options["stop"] = list(template.stop)
        async with upstream(self.client, "POST", f"{self.root}/api/generate", body, read_timeout=self.timeout) as rsp:
            async for payload in ndjson_objects(rsp):
                error_in_payload(payload)
                text = payload.get("response", "")
                if not isinstance(text, str):
                    raise malformed()
                if payload.get("done") is True:
                    reason = payload.get("done_reason")
                    usage = Usage(int_field(payload, "prompt_eval_count"), int_field(payload, "eval_count"))
                    yield Chunk(text=text, finish_reason=reason if isinstance(reason, str) else "stop", usage=usage)
                    return
                if text:
                    yield Chunk(text=text)
        raise cut_off()

    async def list_models(self) -> list[str]:
        return await tags(self)


async def tags(provider: OpenAICompatible) -> list[str]:
    """Names of the installed models (``GET /api/tags``)."""
    url = f"{provider.root}/api/tags"
    async with upstream(provider.client, "GET", url, None, read_timeout=provider.timeout) as response:
        models = (await read_json(response)).get("models")
    if not isinstance(models, list):
        raise malformed()
    return [str(m["name"]) for m in models if isinstance(m, dict) and isinstance(m.get("name"), str)]

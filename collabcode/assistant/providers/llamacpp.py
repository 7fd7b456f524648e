"""llama.cpp's ``llama-server``: chat through ``/v1``, inline completions through ``/infill``.

``/infill`` takes ``input_prefix``/``input_suffix`` and other files as ``input_extra``
(``[{filename, text}]``), and builds the FIM prompt with the loaded model's own tokens
(repository-level when the model has them). Streamed answers are SSE lines
``data: {"content": "...", "stop": false}``, the last with ``"stop": true`` and token counts.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from collabcode.assistant.providers.base import (
    Chunk,
    FimRequest,
    Usage,
    error_in_payload,
    int_field,
    sse_events,
    upstream,
)
from collabcode.assistant.providers.errors import cut_off, malformed
from collabcode.assistant.providers.openai import OpenAICompatible


class LlamaCpp(OpenAICompatible):
    kind = "llamacpp"

    async def complete(self, request: FimRequest) -> AsyncGenerator[Chunk, None]:
        body: dict[str, Any] = {
            "input_prefix": request.prefix,
            "input_suffix": request.suffix,
            "input_extra": [{"filename": s.path, "text": s.text} for s in request.snippets],
            "n_predict": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "cache_prompt": True,
        }
        async with upstream(self.client, "POST", f"{self.root}/infill", body, read_timeout=self.timeout) as rsp:
            async for payload in sse_events(rsp):
                if payload is None:
                    break
                error_in_payload(payload)
                text = payload.get("content", "")
                if not isinstance(text, str):
                    raise malformed()
                if payload.get("stop") is True:
                    reason = payload.get("stop_type")
                    usage = Usage(int_field(payload, "tokens_evaluated"), int_field(payload, "tokens_predicted"))
                    yield Chunk(text=text, finish_reason=reason if isinstance(reason, str) else "stop", usage=usage)
                    return
                if text:
                    yield Chunk(text=text)
        raise cut_off()

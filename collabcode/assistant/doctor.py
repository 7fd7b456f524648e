"""The assistant's check behind ``collabcode admin doctor``: real requests to the provider.

A configured provider is asked for its models and for a one-token chat answer and a one-token
completion with the configured models, so a wrong URL, key or model name shows here rather than
in the editor. An assistant that is simply not configured is not a failure: it is reported as
off, with how to turn it on.
"""

from __future__ import annotations

import asyncio

from collabcode.assistant.config import resolve
from collabcode.assistant.providers.base import ChatMessage, FimRequest
from collabcode.errors import AppError
from collabcode.settings import Settings

REQUEST_TIMEOUT = 30.0


def _configured(settings: Settings) -> bool:
    return settings.ai_provider not in {"auto", "off"} or settings.ai_base_url is not None


async def check_provider(settings: Settings) -> tuple[bool, str]:
    """``(ok, detail)`` for the doctor's table."""
    availability = await resolve(settings)
    if not availability.enabled or availability.provider is None:
        ok = not _configured(settings) or settings.ai_provider == "off"
        return ok, f"off: {availability.reason} {availability.how_to_enable or ''}".strip()
    provider = availability.provider
    label = f"{availability.kind}, chat={availability.chat_model}, completion={availability.completion_model}"
    try:
        models = await asyncio.wait_for(provider.list_models(), REQUEST_TIMEOUT)
        if availability.chat_model:
            answer = provider.chat([ChatMessage("user", "Say OK.")], model=availability.chat_model, max_tokens=1)
            await asyncio.wait_for(_drain(answer), REQUEST_TIMEOUT)
        if availability.completion_model:
            fim = FimRequest(
                model=availability.completion_model,
                prefix="def add(a, b):\n    return ",
                suffix="\n",
                path="check.py",
                language="python",
                max_tokens=1,
            )
            await asyncio.wait_for(_drain(provider.complete(fim)), REQUEST_TIMEOUT)
    except AppError as exc:
        return False, f"{label}: {exc.message}"
    except TimeoutError:
        return False, f"{label}: no answer within {REQUEST_TIMEOUT:.0f} s"
    finally:
        if availability.client is not None:
            await availability.client.aclose()
    return True, f"{label}: answered ({len(models)} model(s) available)"


async def _drain(stream: object) -> None:
    async for _chunk in stream:  # type: ignore[attr-defined]
        pass

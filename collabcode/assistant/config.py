"""Which provider and models serve this instance, decided once at start from the settings.

With nothing configured (``ai_provider=auto`` and no base URL) a local Ollama on
127.0.0.1:11434 is used when it answers ``/api/tags`` within a second; otherwise the assistant
is off, and :class:`Availability` carries the sentence the UI and the API show, and what to do.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from collabcode.assistant.providers.base import Provider, make_client
from collabcode.assistant.providers.llamacpp import LlamaCpp
from collabcode.assistant.providers.ollama import Ollama, tags
from collabcode.assistant.providers.openai import OpenAICompatible
from collabcode.errors import AppError
from collabcode.settings import Settings

log = logging.getLogger(__name__)

OLLAMA_URL = "http://127.0.0.1:11434"
LLAMACPP_URL = "http://127.0.0.1:8080"
OPENAI_URL = "https://api.openai.com"
DETECT_TIMEOUT = 1.0
SUGGESTED_MODEL = "qwen2.5-coder:1.5b"

HOW_TO_ENABLE = (
    f"Install Ollama (https://ollama.com), run `ollama pull {SUGGESTED_MODEL}` and restart collabcode; "
    "or point collabcode at any OpenAI-compatible server with COLLABCODE_AI_BASE_URL, COLLABCODE_AI_API_KEY, "
    "COLLABCODE_AI_CHAT_MODEL and COLLABCODE_AI_COMPLETION_MODEL and restart (see docs/assistant.md)."
)

#: Substrings of model names trained for fill-in-the-middle, most preferred first.
_CODE_MODELS = ("qwen2.5-coder", "qwen3-coder", "starcoder2", "deepseek-coder", "codestral", "codellama", "codegemma")


@dataclass(frozen=True)
class Availability:
    """The instance-wide answer: a provider with its models, or off with the reason and the fix."""

    provider: Provider | None
    kind: str | None = None
    chat_model: str | None = None
    completion_model: str | None = None
    reason: str | None = None
    how_to_enable: str | None = None
    client: httpx.AsyncClient | None = None

    @property
    def enabled(self) -> bool:
        return self.provider is not None and bool(self.chat_model or self.completion_model)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_provider(kind: str, base_url: str, settings: Settings) -> tuple[Provider, httpx.AsyncClient]:
    """The provider client for ``kind`` at ``base_url`` (and its HTTP client, to close at shutdown)."""
    client = make_client(settings.ai_api_key, timeout=settings.ai_timeout, trust_env=not is_loopback(base_url))
    args = (client, base_url)
    if kind == "ollama":
        return Ollama(*args, timeout=settings.ai_timeout, fim_template=settings.ai_fim_template), client
    if kind == "llamacpp":
        return LlamaCpp(*args, timeout=settings.ai_timeout, fim_template=settings.ai_fim_template), client
    return OpenAICompatible(*args, timeout=settings.ai_timeout, fim_template=settings.ai_fim_template), client


def pick_models(names: list[str]) -> tuple[str | None, str | None]:
    """(chat, completion) from installed Ollama models: a code model for both when there is one."""
    usable = [n for n in names if "embed" not in n.lower()]
    code = None
    for family in _CODE_MODELS:
        code = next((n for n in usable if family in n.lower()), None)
        if code:
            break
    chat = code or (usable[0] if usable else None)
    return chat, code


def off(reason: str, how: str = HOW_TO_ENABLE) -> Availability:
    return Availability(provider=None, reason=reason, how_to_enable=how)


async def resolve(settings: Settings) -> Availability:
    """Decide the provider for this instance (may make one short request to a local server)."""
    kind = settings.ai_provider
    if kind == "off":
        return off(
            "The assistant is switched off on this instance.",
            "An admin can set COLLABCODE_AI_PROVIDER (auto, openai, ollama or llamacpp) and restart collabcode.",
        )
    base_url = settings.ai_base_url
    detected = False
    if kind == "auto":
        if base_url:
            kind = "openai"
        else:
            kind, base_url, detected = "ollama", OLLAMA_URL, True
    if base_url is None:
        base_url = {"ollama": OLLAMA_URL, "llamacpp": LLAMACPP_URL}.get(kind, OPENAI_URL)
    provider, client = build_provider(kind, base_url, settings)
    chat, completion = settings.ai_chat_model, settings.ai_completion_model
    try:
        chat, completion = await _fill_models(kind, provider, chat, completion, detected)
    except _Off as exc:
        await client.aclose()
        return exc.availability
    if not (chat or completion):
        await client.aclose()
        return off(
            "No AI model is configured.",
            "Set COLLABCODE_AI_CHAT_MODEL and COLLABCODE_AI_COMPLETION_MODEL to models your provider serves, then "
            "restart collabcode.",
        )
    log.info("AI assistant uses %s at %s (chat=%s, completion=%s)", kind, base_url, chat, completion)
    return Availability(provider, kind, chat, completion, client=client)


class _Off(Exception):
    def __init__(self, availability: Availability) -> None:
        self.availability = availability


async def _fill_models(
    kind: str, provider: Provider, chat: str | None, completion: str | None, detected: bool
) -> tuple[str | None, str | None]:
    if kind == "ollama" and not (chat and completion):
        assert isinstance(provider, Ollama)
        try:
            names = await _with_short_timeout(provider)
        except (AppError, httpx.HTTPError) as exc:
            if detected:
                raise _Off(off("No AI provider is configured, and no Ollama answers on 127.0.0.1:11434.")) from exc
            raise _Off(
                off(
                    f"Ollama at {provider.root} did not answer when collabcode started.",
                    f"Start Ollama (`ollama serve`), run `ollama pull {SUGGESTED_MODEL}` and restart collabcode.",
                )
            ) from exc
        picked_chat, picked_completion = pick_models(names)
        chat, completion = chat or picked_chat, completion or picked_completion
        if not (chat or completion):
            raise _Off(
                off(
                    f"Ollama is running at {provider.root} but has no models installed.",
                    f"Run `ollama pull {SUGGESTED_MODEL}`, then restart collabcode.",
                )
            )
    if kind == "llamacpp":
        # llama-server serves the one model it loaded, whatever name a request gives.
        chat, completion = chat or "default", completion or "default"
    return chat, completion


async def _with_short_timeout(provider: Ollama) -> list[str]:
    timeout = httpx.Timeout(DETECT_TIMEOUT, connect=min(DETECT_TIMEOUT, 0.5))
    short = httpx.AsyncClient(timeout=timeout, trust_env=False, headers=provider.client.headers)
    try:
        probe = Ollama(short, provider.root, timeout=DETECT_TIMEOUT)
        return await tags(probe)
    finally:
        await short.aclose()

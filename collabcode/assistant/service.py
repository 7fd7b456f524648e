"""The assistant's rules: when it is on, who may use it how much, what a prompt may contain.

Never imports Starlette. Routes call :meth:`AssistantService.status`, :meth:`complete`,
:meth:`open_chat` and :meth:`set_workspace`; the provider is whatever :mod:`.config` resolved at
start. Order of checks per request: on at all → rate limit → file access (404) → workspace
switch → secret-looking file → daily budget → concurrency → provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from collabcode.assistant import prompts, store
from collabcode.assistant.config import Availability
from collabcode.assistant.limits import CompletionSlots, StreamCounter
from collabcode.assistant.providers.base import ChatMessage, Chunk, FimRequest, Snippet, Usage
from collabcode.assistant.providers.errors import ProviderUnavailable, cut_off, provider_timeout
from collabcode.assistant.schemas import ChatRequest, CompleteRequest
from collabcode.auth.events import security_event
from collabcode.auth.identity import Identity
from collabcode.clock import Clock, now_ms
from collabcode.db import Database
from collabcode.errors import AppError, Conflict, Forbidden, NotFound, RateLimited, ServiceUnavailable, ValidationFailed
from collabcode.ratelimit import Rate, RateLimiter
from collabcode.settings import Settings

log = logging.getLogger(__name__)

SERVICE_KEY = "assistant"
#: Characters of a completion kept at most (the token cap usually ends it much earlier).
MAX_COMPLETION_CHARS = 4000
#: Files remembered per user as "recently edited" for completion context.
RECENT_FILES = 6
#: Longest a request waits for a free provider slot before it is told the assistant is busy.
QUEUE_SECONDS = 2.0
#: Longest a chat answer may stream, whatever the provider does.
MAX_CHAT_SECONDS = 300.0
#: A chat prompt (system + history) may be this many times the context budget.
CHAT_PROMPT_FACTOR = 4


class Files(Protocol):
    async def path(self, identity: Identity, workspace_id: str, file_id: str) -> str: ...

    async def read(self, identity: Identity, workspace_id: str, file_id: str) -> tuple[str, str]: ...

    async def role(self, identity: Identity, workspace_id: str) -> str | None: ...


class Counters(Protocol):
    def request(self, kind: str, outcome: str) -> None: ...

    def tokens(self, kind: str, count: int) -> None: ...


class AssistantOff(ServiceUnavailable):
    """503 ``assistant_off``: the message says why and what would switch it on."""

    def __init__(self, reason: str, how_to_enable: str, *, retry_after: int = 3600) -> None:
        super().__init__(f"{reason} {how_to_enable}", retry_after=retry_after, code="assistant_off")
        self.details = {"reason": reason, "how_to_enable": how_to_enable}


def estimate_tokens(chars: int) -> int:
    """Roughly four characters per token, when the provider reports no usage."""
    return max(1, math.ceil(chars / 4))


def _per_minute(count: int) -> Rate:
    return Rate(burst=max(1, count // 3), per=60.0 / count)


@dataclass(frozen=True)
class _Off:
    reason: str
    how: str
    retry_after: int = 3600


class ChatStream:
    """One streaming chat answer: iterate :meth:`chunks`; :meth:`close` always runs at the end."""

    def __init__(
        self,
        service: AssistantService,
        identity: Identity,
        first: Chunk,
        rest: AsyncGenerator[Chunk, None],
        prompt_chars: int,
    ) -> None:
        self._service = service
        self._identity = identity
        self._first: Chunk | None = first
        self._rest = rest
        self._prompt_chars = prompt_chars
        self._answer_chars = 0
        self._usage: Usage | None = None
        self._closed = False
        self.finish_reason: str | None = None

    async def chunks(self) -> AsyncIterator[Chunk]:
        limit = self._service.settings.ai_chat_max_tokens * 8
        clock = self._service.clock
        deadline = clock.monotonic() + MAX_CHAT_SECONDS
        if self._first is not None:
            first, self._first = self._first, None
            if self._take(first):
                yield first
        async for chunk in self._rest:
            if self._take(chunk):
                yield chunk
            if self._answer_chars > limit or clock.monotonic() > deadline:
                self.finish_reason = "length"
                break
        self.finish_reason = self.finish_reason or "stop"

    def _take(self, chunk: Chunk) -> bool:
        self._answer_chars += len(chunk.text)
        self._usage = chunk.usage or self._usage
        self.finish_reason = chunk.finish_reason or self.finish_reason
        return bool(chunk.text)

    async def close(self, outcome: str) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            try:
                await self._rest.aclose()
            except Exception:
                log.debug("closing the provider stream failed", exc_info=True)
            finally:
                self._service.provider_slots.release()
            try:
                await self._service.record(
                    self._identity, "chat", outcome, self._usage, self._prompt_chars, self._answer_chars
                )
            finally:
                self._service.streams.release(self._identity.user_id)


class AssistantService:
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        clock: Clock,
        limiter: RateLimiter,
        availability: Availability,
        files: Files,
        counters: Counters,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.limiter = limiter
        self.availability = availability
        self.files = files
        self.counters = counters
        self.slots = CompletionSlots()
        self.streams = StreamCounter(settings.ai_max_chat_streams)
        self.provider_slots = asyncio.Semaphore(settings.ai_max_concurrent)
        self._recent: dict[str, deque[tuple[str, str]]] = {}
        self._budget_logged: str | None = None

    # -- on or off --------------------------------------------------------------------------------

    def _day(self) -> str:
        return dt.datetime.fromtimestamp(self.clock.now(), dt.UTC).strftime("%Y-%m-%d")

    def _seconds_to_midnight(self) -> int:
        now = self.clock.now()
        return max(1, 86400 - int(now) % 86400)

    async def _budget_off(self) -> _Off | None:
        budget = self.settings.ai_daily_token_budget
        if budget <= 0:
            return None
        day = self._day()
        used = await store.day_tokens(self.db, day)
        if used < budget:
            return None
        if self._budget_logged != day:
            self._budget_logged = day
            security_event(
                "ai.budget_exceeded", "AI daily token budget used up", level=logging.WARNING, budget=budget, used=used
            )
        return _Off(
            f"The assistant has used this instance's daily budget of {budget:,} tokens.",
            "It switches back on at 00:00 UTC; an admin can raise COLLABCODE_AI_DAILY_TOKEN_BUDGET and restart.",
            self._seconds_to_midnight(),
        )

    def _instance_off(self, need: str | None) -> _Off | None:
        a = self.availability
        if not a.enabled:
            return _Off(a.reason or "The assistant is off.", a.how_to_enable or "")
        if need == "chat" and not a.chat_model:
            return _Off(
                "The assistant chat has no model on this instance.",
                "An admin can set COLLABCODE_AI_CHAT_MODEL and restart collabcode.",
            )
        if need == "completion" and not a.completion_model:
            return _Off(
                "Inline completions have no fill-in-the-middle model on this instance.",
                "An admin can set COLLABCODE_AI_COMPLETION_MODEL (e.g. qwen2.5-coder:1.5b) and restart collabcode.",
            )
        return None

    async def _workspace_off(self, workspace_id: str) -> _Off | None:
        if await store.workspace_enabled(self.db, workspace_id):
            return None
        return _Off(
            "The assistant is switched off for this workspace.",
            "A workspace owner or an instance admin can switch it on again.",
        )

    async def _visible_workspace(self, identity: Identity, workspace_id: str) -> None:
        if await self.files.role(identity, workspace_id) is None:
            raise NotFound()

    async def status(self, identity: Identity, workspace_id: str | None) -> dict[str, Any]:
        a = self.availability
        if workspace_id is not None:
            await self._visible_workspace(identity, workspace_id)
        off = self._instance_off(None)
        if off is None and workspace_id is not None:
            off = await self._workspace_off(workspace_id)
        if off is None:
            off = await self._budget_off()
        return {
            "enabled": off is None,
            "provider": a.kind,
            "chat_model": a.chat_model,
            "completion_model": a.completion_model,
            "reason": off.reason if off else None,
            "how_to_enable": off.how if off else None,
        }

    def _raise(self, off: _Off | None, kind: str) -> None:
        if off is not None:
            self.counters.request(kind, "off")
            raise AssistantOff(off.reason, off.how, retry_after=off.retry_after)

    async def _rate(self, identity: Identity, kind: str) -> None:
        per_minute = self.settings.ai_complete_per_minute if kind == "complete" else self.settings.ai_chat_per_minute
        bucket = f"ai.{kind}"
        decision = await self.limiter.hit(bucket, identity.user_id, _per_minute(per_minute))
        if not decision.allowed:
            self.counters.request(kind, "rate_limited")
            security_event(
                "ratelimit.hit", "rate limit hit", level=logging.WARNING, bucket=bucket, user_id=identity.user_id
            )
            raise RateLimited(decision.retry_after, "Too many assistant requests; wait a moment.")

    async def _acquire_provider(self, kind: str) -> None:
        """A slot of the instance's provider concurrency; waits briefly, then 503 ``ai_busy``."""
        try:
            async with asyncio.timeout(QUEUE_SECONDS):
                await self.provider_slots.acquire()
        except TimeoutError:
            self.counters.request(kind, "busy")
            raise ProviderUnavailable(
                "The assistant is busy with other people's requests; try again in a moment.",
                code="ai_busy",
                retry_after=2,
            ) from None

        # -- inline completions -----------------------------------------------------------------------

    async def complete(self, identity: Identity, request: CompleteRequest) -> str:
        self._raise(self._instance_off("completion"), "complete")
        await self._rate(identity, "complete")
        path = await self.files.path(identity, request.workspace_id, request.file_id)
        self._raise(await self._workspace_off(request.workspace_id), "complete")
        if prompts.looks_secret(path):
            raise _secret_file()
        self._raise(await self._budget_off(), "complete")
        recent = self._remember(identity.user_id, request.workspace_id, request.file_id)
        try:
            return await self.slots.run(identity.user_id, lambda: self._complete(identity, request, path, recent))
        except Conflict:
            self.counters.request("complete", "superseded")
            raise

    def _remember(self, user_id: str, workspace_id: str, file_id: str) -> list[tuple[str, str]]:
        """Other files this user completed in lately (most recent first), then note this one."""
        recent = self._recent.setdefault(user_id, deque(maxlen=RECENT_FILES))
        others = [item for item in recent if item != (workspace_id, file_id) and item[0] == workspace_id]
        if (workspace_id, file_id) in recent:
            recent.remove((workspace_id, file_id))
        recent.appendleft((workspace_id, file_id))
        if len(self._recent) > 10_000:
            self._recent.pop(next(iter(self._recent)))
        return others

    async def _snippets(self, identity: Identity, files: list[tuple[str, str]], budget: int) -> tuple[Snippet, ...]:
        found: list[Snippet] = []
        for workspace_id, file_id in files[: prompts.MAX_SNIPPETS]:
            read = await self._readable(identity, workspace_id, file_id)
            if read is not None:
                found.append(Snippet(read[0], prompts.head(read[1], budget)))
        return prompts.snippets_within(found, budget)

    async def _readable(self, identity: Identity, workspace_id: str, file_id: str) -> tuple[str, str] | None:
        """The file as the caller may read it, or None (gone, not theirs, a folder, a secret)."""
        try:
            path, text = await self.files.read(identity, workspace_id, file_id)
        except (NotFound, Conflict):
            return None
        return None if prompts.looks_secret(path) else (path, text)

    async def _complete(
        self, identity: Identity, request: CompleteRequest, path: str, recent: list[tuple[str, str]]
    ) -> str:
        window = prompts.completion_window(request.prefix, request.suffix, self.settings.ai_context_chars)
        snippets = await self._snippets(identity, recent, window.snippet_chars)
        model = self.availability.completion_model
        provider = self.availability.provider
        assert model is not None and provider is not None
        fim = FimRequest(
            model=model,
            prefix=window.prefix,
            suffix=window.suffix,
            path=path,
            language=request.language or prompts.language_of(path),
            max_tokens=self.settings.ai_completion_max_tokens,
            snippets=snippets,
        )
        prompt_chars = len(window.prefix) + len(window.suffix) + sum(len(s.text) for s in snippets)
        parts: list[str] = []
        usage: Usage | None = None
        outcome = "error"
        deadline = max(1.0, self.settings.ai_timeout / 3)
        await self._acquire_provider("complete")
        try:
            async with asyncio.timeout(deadline):
                # Read to the end even after the finish reason: the usage chunk comes last.
                async with contextlib.aclosing(provider.complete(fim)) as answer:
                    async for chunk in answer:
                        parts.append(chunk.text)
                        usage = chunk.usage or usage
                        if sum(map(len, parts)) >= MAX_COMPLETION_CHARS:
                            break
            outcome = "ok"
        except TimeoutError:
            raise provider_timeout(deadline) from None
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            self.provider_slots.release()
            with anyio.CancelScope(shield=True):
                await self.record(identity, "complete", outcome, usage, prompt_chars, sum(map(len, parts)))
        return prompts.trim_completion("".join(parts), window.suffix, MAX_COMPLETION_CHARS)

    # -- chat -------------------------------------------------------------------------------------

    async def open_chat(self, identity: Identity, request: ChatRequest) -> ChatStream:
        """Check everything, start the provider's answer, and return it once the first piece came.

        Failing before the first piece is a plain error response; after it, an ``error`` event.
        """
        self._raise(self._instance_off("chat"), "chat")
        await self._rate(identity, "chat")
        context = request.context
        workspace_id = request.workspace_id
        if workspace_id is None and (context.file_id or context.open_files):
            raise ValidationFailed(
                "workspace_id: needed when the context names files",
                details={"field": "workspace_id", "rule": "required"},
            )
        if workspace_id is not None:
            await self._visible_workspace(identity, workspace_id)
            self._raise(await self._workspace_off(workspace_id), "chat")
        system = await self._chat_system(identity, workspace_id, request)
        history = [ChatMessage(m.role, m.content) for m in request.messages]
        if history[-1].role != "user":
            raise ValidationFailed(
                "messages: the last message must be the user's", details={"field": "messages", "rule": "last_not_user"}
            )
        limit = self.settings.ai_context_chars * CHAT_PROMPT_FACTOR + len(prompts.SYSTEM_PROMPT)
        messages = prompts.fit_history(system, history, max(limit, len(system) + 1))
        if messages is None:
            raise ValidationFailed(
                f"messages: the last message is too long for the assistant (at most {limit - len(system):,} characters "
                "with this context)",
                details={"field": "messages", "rule": "prompt_too_large"},
            )
        self._raise(await self._budget_off(), "chat")
        self.streams.acquire(identity.user_id)
        try:
            await self._acquire_provider("chat")
        except BaseException:
            self.streams.release(identity.user_id)
            raise
        provider, model = self.availability.provider, self.availability.chat_model
        assert provider is not None and model is not None
        prompt_chars = sum(len(m.content) for m in messages)
        answer = provider.chat(messages, model=model, max_tokens=self.settings.ai_chat_max_tokens)
        try:
            async with asyncio.timeout(self.settings.ai_timeout):
                first = await anext(answer)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                try:
                    await answer.aclose()
                finally:
                    self.provider_slots.release()
                    self.streams.release(identity.user_id)
                    await self.record(
                        identity,
                        "chat",
                        "cancelled" if isinstance(exc, asyncio.CancelledError) else "error",
                        None,
                        prompt_chars,
                        0,
                    )
            if isinstance(exc, TimeoutError):
                raise provider_timeout(self.settings.ai_timeout) from None
            if isinstance(exc, StopAsyncIteration):
                raise cut_off() from None
            raise
        return ChatStream(self, identity, first, answer, prompt_chars)

    async def _chat_system(self, identity: Identity, workspace_id: str | None, request: ChatRequest) -> str:
        context = request.context
        budget = self.settings.ai_context_chars
        current: prompts.FileContext | None = None
        selection: prompts.Selection | None = None
        if context.selection is not None:
            sel = context.selection
            if sel.end_line < sel.start_line:
                raise ValidationFailed(
                    "context.selection.end_line: must not be before start_line",
                    details={"field": "context.selection.end_line", "rule": "order"},
                )
            selection = prompts.Selection(prompts.head(sel.text, budget), sel.start_line, sel.end_line)
        if workspace_id is not None and context.file_id is not None:
            path, text = await self.files.read(identity, workspace_id, context.file_id)
            if prompts.looks_secret(path):
                raise _secret_file()
            if selection is not None:
                window, first_line = prompts.lines_around(text, selection.start_line, selection.end_line, budget // 2)
            else:
                window, first_line = prompts.head(text, budget // 2), 1
            current = prompts.FileContext(path, prompts.language_of(path), window, first_line)
        others: list[prompts.FileContext] = []
        if workspace_id is not None:
            wanted = [f for f in dict.fromkeys(context.open_files) if f != context.file_id][: prompts.MAX_SNIPPETS]
            share = (budget // 2) // max(1, len(wanted))
            for file_id in wanted:
                read = await self._readable(identity, workspace_id, file_id)
                if read is not None:
                    others.append(
                        prompts.FileContext(read[0], prompts.language_of(read[0]), prompts.head(read[1], share))
                    )
        return prompts.system_message(current, selection, others)

    # -- usage and the workspace switch -----------------------------------------------------------

    async def record(
        self, identity: Identity, kind: str, outcome: str, usage: Usage | None, prompt_chars: int, answer_chars: int
    ) -> None:
        """Count the request and its tokens (reported by the provider, else estimated)."""
        tokens = (
            usage.total
            if usage and usage.total
            else estimate_tokens(prompt_chars) + (estimate_tokens(answer_chars) if answer_chars else 0)
        )
        self.counters.request(kind, outcome)
        self.counters.tokens(kind, tokens)
        try:
            await store.add_usage(self.db, self._day(), identity.user_id, tokens, now_ms(self.clock))
        except Exception:
            log.warning("could not record AI usage user=%s tokens=%d", identity.user_id, tokens, exc_info=True)

    async def set_workspace(self, identity: Identity, workspace_id: str, enabled: bool) -> dict[str, Any]:
        """Instance admins and the workspace's owners may switch the assistant per workspace."""
        role = await self.files.role(identity, workspace_id)
        if role is None and not (identity.is_admin and await store.workspace_exists(self.db, workspace_id)):
            raise NotFound()
        if role != "owner" and not identity.is_admin:
            security_event(
                "authz.denied",
                "assistant switch denied",
                level=logging.WARNING,
                user_id=identity.user_id,
                session_id=identity.session_id,
                resource=f"workspace:{workspace_id}",
                action="ai_switch",
            )
            raise Forbidden("Only owners of this workspace and instance admins can switch the assistant.")
        await store.set_workspace_enabled(self.db, workspace_id, enabled, identity.user_id, now_ms(self.clock))
        log.info(
            "assistant %s for workspace=%s by user=%s",
            "enabled" if enabled else "disabled",
            workspace_id,
            identity.user_id,
        )
        return {"workspace_id": workspace_id, "enabled": enabled}

    async def close(self) -> None:
        await self.slots.cancel_all()
        if self.availability.client is not None:
            await self.availability.client.aclose()


def _secret_file() -> AppError:
    return Forbidden(
        "This file looks like it holds secrets (.env, keys, certificates, credentials); "
        "the assistant never sends it anywhere.",
        code="secret_file",
    )


def assistant_service(services: Any) -> AssistantService:
    service = services.extras.get(SERVICE_KEY)
    if not isinstance(service, AssistantService):
        raise RuntimeError("the assistant feature has not started: add collabcode.assistant.feature")
    return service

"""Workspace events: delivered to in-process listeners and published on the bus for other processes.

Every event is a JSON object with ``type`` and ``workspace_id`` (docs/protocol.md, "Workspace
events"). A change made here is handed to this process's listeners at once and published on
``workspace.<id>``; events other processes publish arrive through one pattern subscription and
reach the same listeners. The bus never hands a process its own messages back, so nothing is
delivered twice. Pub/sub is lossy: a listener that sees a gap in ``version`` re-reads the tree.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collabcode.pubsub import Bus, Subscription

log = logging.getLogger(__name__)

CHANNEL_PREFIX: Final = "workspace."
#: A change list longer than this is replaced by ``"resync": true`` (re-read the tree).
MAX_CHANGES_PER_EVENT: Final = 1000
MAX_EVENT_BYTES: Final = 1 << 20

Event = dict[str, Any]
Listener = Callable[[Event], None]
RemoteHook = Callable[[Event], Awaitable[None]]
#: Runs once per change, on the process that made it: the event and users to tell besides the
#: current members (someone just removed, or the members of a workspace just deleted).
PublishedHook = Callable[[Event, Sequence[str]], Awaitable[None]]
#: Runs once per change, on the process that made it: the event and who made it (a user id, or
#: None for a change the server made). The actor is not part of the event clients receive.
ChangeHook = Callable[[Event, str | None], Awaitable[None]]


def channel(workspace_id: str) -> str:
    return CHANNEL_PREFIX + workspace_id


def tree_changed(workspace_id: str, version: int, changes: list[dict[str, Any]]) -> Event:
    event: Event = {"type": "tree.changed", "workspace_id": workspace_id, "version": version}
    if len(changes) > MAX_CHANGES_PER_EVENT:
        event["changes"] = []
        event["resync"] = True
    else:
        event["changes"] = changes
    return event


class WorkspaceEvents:
    """Listeners by workspace, fed by local changes and by the bus."""

    def __init__(self, bus: Bus | None = None) -> None:
        self._bus = bus
        self._listeners: dict[str, list[Listener]] = {}
        self._subscription: Subscription | None = None
        self._remote_hooks: list[RemoteHook] = []
        self._published_hooks: list[PublishedHook] = []
        self._change_hooks: list[ChangeHook] = []

    async def start(self) -> None:
        if self._bus is not None and self._subscription is None:
            self._subscription = await self._bus.psubscribe(CHANNEL_PREFIX + "*", self._on_message)

    async def close(self) -> None:
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.unsubscribe()

    def subscribe_tree(self, workspace_id: str, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event)`` for every event of ``workspace_id``; returns the unsubscribe.

        Callbacks run on the event loop and must not block (queue the event and return).
        """
        self._listeners.setdefault(workspace_id, []).append(callback)

        def unsubscribe() -> None:
            listeners = self._listeners.get(workspace_id)
            if listeners and callback in listeners:
                listeners.remove(callback)
                if not listeners:
                    del self._listeners[workspace_id]

        return unsubscribe

    def on_remote(self, hook: RemoteHook) -> None:
        """Also run ``hook`` for events that arrive from other processes (e.g. access changes)."""
        self._remote_hooks.append(hook)

    def on_published(self, hook: PublishedHook) -> None:
        """Run ``hook`` for every event published by this process (once per change cluster-wide)."""
        self._published_hooks.append(hook)

    def on_change(self, hook: ChangeHook) -> None:
        """Run ``hook(event, actor)`` for every event published by this process (the activity log)."""
        self._change_hooks.append(hook)

    def listener_count(self, workspace_id: str) -> int:
        return len(self._listeners.get(workspace_id, ()))

    async def publish(self, event: Event, *, also_to: Sequence[str] = (), actor: str | None = None) -> None:
        """Deliver locally, run the published hooks, then publish to other processes (best effort).

        ``also_to`` names users who are no longer members but must hear of the change; ``actor``
        is the user who made it (given to change hooks only).
        """
        workspace_id = str(event["workspace_id"])
        self._deliver(workspace_id, event)
        for hook in self._published_hooks:
            try:
                await hook(event, also_to)
            except Exception:
                log.exception("workspace event hook failed workspace=%s", workspace_id)
        for change_hook in self._change_hooks:
            try:
                await change_hook(event, actor)
            except Exception:
                log.exception("workspace change hook failed workspace=%s", workspace_id)
        if self._bus is None:
            return
        payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(payload) > MAX_EVENT_BYTES:
            payload = json.dumps(
                {**event, "changes": [], "resync": True}, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
        try:
            await self._bus.publish(channel(workspace_id), payload)
        except Exception:
            log.warning("workspace event not published workspace=%s", workspace_id, exc_info=True)

    def _deliver(self, workspace_id: str, event: Event) -> None:
        for callback in tuple(self._listeners.get(workspace_id, ())):
            try:
                callback(event)
            except Exception:
                log.exception("workspace event listener failed workspace=%s", workspace_id)

    async def _on_message(self, channel_name: str, payload: bytes) -> None:
        if len(payload) > MAX_EVENT_BYTES:
            return
        try:
            event = json.loads(payload)
        except ValueError:
            log.warning("malformed workspace event on %s", channel_name)
            return
        workspace_id = channel_name[len(CHANNEL_PREFIX) :]
        if not isinstance(event, dict) or event.get("workspace_id") != workspace_id:
            log.warning("malformed workspace event on %s", channel_name)
            return
        self._deliver(workspace_id, event)
        for hook in self._remote_hooks:
            try:
                await hook(event)
            except Exception:
                log.exception("workspace event hook failed workspace=%s", workspace_id)

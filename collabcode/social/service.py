"""The rules of profiles, following, avatars, the dashboard and the activity feed.

Privacy, in one place (docs/social.md):

- A person who blocked the viewer, and a disabled account, do not exist for the viewer (404).
- Presence is shown only to those :meth:`Presence.visible_to` allows: people who share a
  conversation or a workspace, and followers; never across a block; invisible people look
  offline with no last-seen time.
- Workspaces are shown only when the viewer is a member (shared workspaces are those both are
  in); what a followed person is editing only in a workspace the viewer is a member of, and only
  while their presence shows them online or away to the viewer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from collabcode.auth.identity import Identity
from collabcode.chat import store as chat_store
from collabcode.clock import Clock, now_ms
from collabcode.db import Database
from collabcode.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from collabcode.ratelimit import Rate, RateLimiter
from collabcode.realtime.hub import EventsHub
from collabcode.realtime.presence import PresenceView, iso
from collabcode.social import avatars, store

log = logging.getLogger(__name__)

SERVICE_KEY: Final = "social"
FOLLOW_FRAME: Final = "follow"
_CURSOR = re.compile(r"^(\d{1,15})\.([0-9a-f]{32})$")

#: ``section(identity)``: a part of the dashboard another feature provides.
Section = Callable[[Identity], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class SocialLimits:
    page_default: int = 50
    page_max: int = 100
    dashboard_workspaces: int = 50
    dashboard_recent_files: int = 20
    dashboard_following: int = 100
    shared_workspaces: int = 100
    follow_rate: Rate = field(default_factory=lambda: Rate(burst=30, per=2.0))
    avatar_rate: Rate = field(default_factory=lambda: Rate(burst=10, per=360.0))


def avatar_url(avatar_id: Any) -> str | None:
    return None if avatar_id is None else f"/api/avatars/{avatar_id}"


def person(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "username": str(row["username"]),
        "display_name": str(row["display_name"]),
        "avatar_color": str(row["avatar_color"]),
        "avatar_url": avatar_url(row.get("avatar_id")),
    }


def presence_json(view: PresenceView | None) -> dict[str, Any] | None:
    return None if view is None else {"status": view.status, "last_seen_at": iso(view.last_seen_at)}


def parse_cursor(raw: str | None) -> tuple[int, str] | None:
    if raw is None or raw == "":
        return None
    match = _CURSOR.fullmatch(raw)
    if match is None:
        raise ValidationFailed("before: not a cursor this API gave out", details={"field": "before", "rule": "cursor"})
    return int(match.group(1)), match.group(2)


def _cursor(created_at: Any, item_id: Any) -> str:
    return f"{int(created_at)}.{item_id}"


class SocialService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        hub: EventsHub,
        limiter: RateLimiter,
        limits: SocialLimits | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.hub = hub
        self.presence = hub.presence
        self.limiter = limiter
        self.limits = limits or SocialLimits()
        #: Dashboard parts other features provide (unread conversations, missed calls, sessions).
        self.sections: dict[str, Section] = {}

    def _now(self) -> int:
        return now_ms(self.clock)

    async def _limit(self, bucket: str, user_id: str, rate: Rate) -> None:
        decision = await self.limiter.hit(bucket, user_id, rate)
        if not decision.allowed:
            raise RateLimited(decision.retry_after)

    # -- presence sources ----------------------------------------------------------------------

    async def co_members(self, user_id: str) -> set[str]:
        """Workspace co-members may see each other's presence (a symmetric source)."""
        return await store.co_members(self.db, user_id)

    async def followers(self, user_id: str) -> set[str]:
        return await store.followers_of(self.db, user_id)

    async def followed(self, user_id: str) -> set[str]:
        return await store.followed_by(self.db, user_id)

    async def _visible_views(self, viewer_id: str, user_ids: Sequence[str]) -> dict[str, PresenceView]:
        """Presence of those of ``user_ids`` the viewer may see (one's own included)."""
        allowed = await self.presence.visible_to(viewer_id) | {viewer_id}
        wanted = [u for u in dict.fromkeys(user_ids) if u in allowed]
        return await self.presence.views(wanted)

    # -- profiles -------------------------------------------------------------------------------

    async def _target(self, viewer_id: str, username: str) -> dict[str, Any]:
        """An enabled account the viewer may know of (404 for one that blocked the viewer)."""
        row = await store.profile_row(self.db, username)
        if row is None:
            raise NotFound()
        if str(row["id"]) != viewer_id:
            _, they_blocked = await store.block_state(self.db, viewer_id, str(row["id"]))
            if they_blocked:
                raise NotFound()
        return row

    async def profile(self, viewer_id: str, username: str) -> dict[str, Any]:
        row = await self._target(viewer_id, username)
        user_id = str(row["id"])
        i_blocked = follows = followed_back = False
        if user_id != viewer_id:
            i_blocked, _ = await store.block_state(self.db, viewer_id, user_id)
            follows, followed_back = await store.follow_flags(self.db, viewer_id, user_id)
        views = await self._visible_views(viewer_id, [user_id])
        shared = await store.shared_workspaces(self.db, viewer_id, user_id, limit=self.limits.shared_workspaces)
        return {
            **person(row),
            "bio": str(row["bio"]),
            "joined_at": iso(int(row["created_at"])),
            "presence": presence_json(views.get(user_id)),
            "followers_count": int(row["followers_count"]),
            "following_count": int(row["following_count"]),
            "followed_by_me": follows,
            "follows_me": followed_back,
            "blocked": i_blocked,
            "shared_workspaces": [{"id": str(w["id"]), "name": str(w["name"])} for w in shared],
        }

    # -- following ------------------------------------------------------------------------------

    async def follow(self, viewer: Identity, username: str) -> dict[str, Any]:
        await self._limit("follow_user", viewer.user_id, self.limits.follow_rate)
        row = await self._target(viewer.user_id, username)
        user_id = str(row["id"])
        if user_id == viewer.user_id:
            raise ValidationFailed(
                "username: you cannot follow yourself",
                code="cannot_follow_self",
                details={"field": "username", "rule": "self"},
            )
        i_blocked, _ = await store.block_state(self.db, viewer.user_id, user_id)
        if i_blocked:
            raise Forbidden("You blocked this person; unblock them to follow.", code="blocked")
        created = await store.follow(self.db, viewer.user_id, user_id, self._now())
        if created:
            log.info("follow user=%s followee=%s", viewer.user_id, user_id)
            await self.hub.send_to_user(
                user_id,
                {
                    "type": FOLLOW_FRAME,
                    "user": {"id": viewer.user_id, "username": viewer.username, "display_name": viewer.display_name},
                },
            )
            views = await self._visible_views(viewer.user_id, [user_id])
            if user_id in views:
                await self.hub.send_to_user(viewer.user_id, {"type": "presence", **views[user_id].as_frame_fields()})
        return {"following": True, "followers_count": await store.followers_count(self.db, user_id)}

    async def unfollow(self, viewer: Identity, username: str) -> dict[str, Any]:
        await self._limit("follow_user", viewer.user_id, self.limits.follow_rate)
        row = await store.profile_row(self.db, username)
        if row is None:
            raise NotFound()
        user_id = str(row["id"])
        removed = await store.unfollow(self.db, viewer.user_id, user_id)
        _, they_blocked = await store.block_state(self.db, viewer.user_id, user_id)
        if they_blocked:
            raise NotFound()  # the follow is gone, but they still do not exist for the viewer
        if removed and user_id not in await self.presence.visible_to(viewer.user_id):
            hidden = PresenceView(user_id, "offline", None)
            await self.hub.send_to_user(viewer.user_id, {"type": "presence", **hidden.as_frame_fields()})
        return {"following": False, "followers_count": await store.followers_count(self.db, user_id)}

    async def follow_list(
        self, viewer_id: str, username: str, direction: str, *, before: str | None, limit: int | None
    ) -> dict[str, Any]:
        row = await self._target(viewer_id, username)
        size = min(max(limit or self.limits.page_default, 1), self.limits.page_max)
        rows = await store.follow_page(
            self.db, str(row["id"]), direction=direction, before=parse_cursor(before), limit=size + 1
        )
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = _cursor(rows[-1]["followed_at"], rows[-1]["id"]) if more else None
        if viewer_id != str(row["id"]):
            # Nobody on either side of a block with the viewer is listed to them either.
            mine, theirs = await chat_store.block_relations(self.db, viewer_id)
            rows = [r for r in rows if str(r["id"]) not in mine and str(r["id"]) not in theirs]
        views = await self._visible_views(viewer_id, [str(r["id"]) for r in rows])
        return {
            "users": [{**person(r), "presence": presence_json(views.get(str(r["id"])))} for r in rows],
            "next_cursor": next_cursor,
        }

    # -- avatars --------------------------------------------------------------------------------

    async def set_avatar(self, viewer: Identity, content_type: str, data: bytes) -> dict[str, Any]:
        declared = avatars.check_declared(content_type)
        await self._limit("avatar_upload", viewer.user_id, self.limits.avatar_rate)
        avatar = await asyncio.to_thread(avatars.process, data, declared)
        avatar_id = uuid.uuid4().hex
        await store.save_avatar(
            self.db,
            viewer.user_id,
            avatar_id,
            avatar.content_type,
            avatar.width,
            avatar.height,
            avatar.data,
            self._now(),
        )
        log.info("avatar set user=%s bytes=%d", viewer.user_id, len(avatar.data))
        return {"avatar_url": avatar_url(avatar_id), "width": avatar.width, "height": avatar.height}

    async def delete_avatar(self, viewer: Identity) -> dict[str, Any]:
        await store.delete_avatar(self.db, viewer.user_id)
        return {"avatar_url": None, "avatar_color": viewer.avatar_color}

    async def avatar(self, avatar_id: str) -> tuple[str, str, bytes]:
        row = await store.avatar_by_id(self.db, avatar_id)
        if row is None:
            raise NotFound()
        return str(row["id"]), str(row["content_type"]), bytes(row["data"])

    async def avatar_of(self, viewer_id: str, username: str) -> tuple[str, str, bytes]:
        target = await self._target(viewer_id, username)
        row = await store.avatar_of(self.db, str(target["id"]))
        if row is None:
            raise NotFound("This person has no avatar; draw their initials.", code="no_avatar")
        return str(row["id"]), str(row["content_type"]), bytes(row["data"])

    # -- recent files ---------------------------------------------------------------------------

    async def record_open(self, viewer_id: str, workspace_id: str, file_id: str) -> dict[str, Any]:
        now = self._now()
        if not await store.record_open(self.db, viewer_id, workspace_id, file_id, now):
            raise NotFound()
        return {"workspace_id": workspace_id, "file_id": file_id, "opened_at": iso(now)}

    # -- dashboard ------------------------------------------------------------------------------

    async def dashboard(self, viewer: Identity) -> dict[str, Any]:
        uid = viewer.user_id
        limits = self.limits
        workspaces = await store.my_workspaces(self.db, uid, limit=limits.dashboard_workspaces)
        members = await store.co_member_rows(self.db, uid, [str(w["id"]) for w in workspaces])
        following = await store.following_people(self.db, uid, limit=limits.dashboard_following)
        people_ids = [str(m["id"]) for m in members] + [str(f["id"]) for f in following]
        views = await self._visible_views(uid, people_ids)
        online: dict[str, list[dict[str, Any]]] = {}
        for member in members:
            view = views.get(str(member["id"]))
            if view is not None and view.status != "offline":
                online.setdefault(str(member["workspace_id"]), []).append(
                    {
                        "id": str(member["id"]),
                        "username": str(member["username"]),
                        "display_name": str(member["display_name"]),
                    }
                )
        doing = await self._activities(uid, [f for f in following if _active(views.get(str(f["id"])))])
        recent = await store.recent_files(self.db, uid, limit=limits.dashboard_recent_files)
        return {
            "workspaces": [
                {
                    "id": str(w["id"]),
                    "name": str(w["name"]),
                    "role": str(w["role"]),
                    "members_online": sorted(online.get(str(w["id"]), []), key=lambda p: p["display_name"].lower()),
                    "last_activity_at": iso(max(int(w["updated_at"]), int(w["last_event_at"] or 0))),
                }
                for w in workspaces
            ],
            "recent_files": [
                {
                    "workspace_id": str(r["workspace_id"]),
                    "workspace_name": str(r["workspace_name"]),
                    "file_id": str(r["file_id"]),
                    "path": str(r["path"]),
                    "opened_at": iso(int(r["opened_at"])),
                }
                for r in recent
            ],
            "unread_conversations": await self._section("unread_conversations", viewer),
            "missed_calls": await self._section("missed_calls", viewer),
            "following": [
                {
                    **person(f),
                    "presence": presence_json(views.get(str(f["id"]))) or {"status": "offline", "last_seen_at": None},
                    "activity": doing.get(str(f["id"])),
                }
                for f in following
            ],
            "pending_invitations": [],
            "sessions": await self._section("sessions", viewer),
        }

    async def _section(self, name: str, viewer: Identity) -> list[dict[str, Any]]:
        section = self.sections.get(name)
        if section is None:
            return []
        try:
            return await section(viewer)
        except Exception:
            log.warning("dashboard section %s failed user=%s", name, viewer.user_id, exc_info=True)
            return []

    async def _activities(self, viewer_id: str, rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """What each of these (visible, online) people has open, where the viewer is a member too."""
        rows_live = await store.live_for(self.db, viewer_id, [str(r["id"]) for r in rows], self._now())
        doing: dict[str, dict[str, Any]] = {}
        for live in rows_live:  # newest first: the first row of a person wins
            doing.setdefault(
                str(live["user_id"]),
                {
                    "workspace_id": str(live["workspace_id"]),
                    "workspace_name": str(live["workspace_name"]),
                    "file_id": str(live["file_id"]),
                    "path": str(live["path"]),
                },
            )
        return doing

    # -- activity feed --------------------------------------------------------------------------

    async def feed(self, viewer_id: str, *, before: str | None, limit: int | None) -> dict[str, Any]:
        size = min(max(limit or self.limits.page_default, 1), self.limits.page_max)
        rows = await store.activity_page(self.db, viewer_id, before=parse_cursor(before), limit=size + 1)
        more = len(rows) > size
        rows = rows[:size]
        datas = [json.loads(str(r["data"])) for r in rows]
        subject_ids = [str(d["user_id"]) for d in datas if isinstance(d, dict) and "user_id" in d]
        subjects = await store.people(self.db, subject_ids)
        items = []
        for row, data in zip(rows, datas, strict=True):
            if isinstance(data, dict) and "user_id" in data:
                subject = subjects.get(str(data.pop("user_id")))
                data["user"] = (
                    None
                    if subject is None
                    else {
                        "id": str(subject["id"]),
                        "username": str(subject["username"]),
                        "display_name": str(subject["display_name"]),
                    }
                )
            items.append(
                {
                    "id": str(row["id"]),
                    "type": str(row["kind"]),
                    "workspace_id": str(row["workspace_id"]),
                    "workspace_name": str(row["workspace_name"]),
                    "actor": None
                    if row["actor_username"] is None
                    else {"username": str(row["actor_username"]), "display_name": str(row["actor_display_name"])},
                    "data": data,
                    "created_at": iso(int(row["created_at"])),
                }
            )
        return {"items": items, "next_cursor": _cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None}


def _active(view: PresenceView | None) -> bool:
    return view is not None and view.status != "offline"


def social_service(services: Any) -> SocialService:
    service = services.extras.get(SERVICE_KEY)
    if not isinstance(service, SocialService):
        raise RuntimeError("the social feature has not started: add collabcode.social.feature")
    return service

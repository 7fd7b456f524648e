"""The accounts feature: its routes, and what it builds when the app starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.routing import BaseRoute

from collabcode.auth import setup_link
from collabcode.auth.passwords import DEFAULT_ROUNDS, PasswordHasher
from collabcode.auth.routes import DEV_COOKIE, routes
from collabcode.auth.service import REVOKED_CHANNEL, AuthService, install
from collabcode.mail import MailQueue
from collabcode.ratelimit import limiter_for
from collabcode.services import Services

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 600.0


class AuthFeature:
    name = "auth"

    @property
    def routes(self) -> list[BaseRoute]:
        return routes

    async def start(self, services: Services) -> None:
        settings = services.settings
        hasher = PasswordHasher(settings.bcrypt_rounds)
        queue = MailQueue(services.mailer)
        queue.start()
        service = AuthService(
            db=services.db,
            clock=services.clock,
            settings=settings,
            secrets=services.secrets,
            limiter=limiter_for(services),
            hasher=hasher,
            mail=queue,
            bus=services.bus,
            connections=services.connections,
        )
        install(services, service)
        subscription = await services.bus.subscribe(REVOKED_CHANNEL, service.on_revoked_message)
        housekeeping = asyncio.create_task(_housekeeping(service), name="collabcode-auth-housekeeping")

        async def stop() -> None:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            await subscription.unsubscribe()
            await queue.close()
            hasher.close()

        services.shutdown_hooks.append(stop)
        if not settings.secure_cookies:
            log.warning(
                "serving over plain http: the refresh cookie is %r (Path=/api/auth) instead of a __Host- cookie; "
                "set --public-url https://... in production",
                DEV_COOKIE,
                extra={"event": "auth.insecure_cookies"},
            )
        if settings.bcrypt_rounds < DEFAULT_ROUNDS:
            log.warning("bcrypt cost is %s, below the production default of %s", settings.bcrypt_rounds, DEFAULT_ROUNDS)
        link = await service.create_setup_link()
        if link is not None:
            setup_link.announce(link, service.policy.setup_ttl // 3600)


async def _housekeeping(service: AuthService) -> None:
    while True:
        try:
            await service.purge()
        except Exception:  # the database may be down for a while; try again next round
            log.warning("accounts housekeeping failed", exc_info=True)
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


feature = AuthFeature()

"""Enumeration resistance: a login for an account that does not exist answers like a wrong password,
in status, body and time (real bcrypt work on both paths)."""

from __future__ import annotations

import statistics
import time

import httpx

from tests.auth.conftest import AppFactory, AuthHarness, without_request_id

ATTEMPTS = 15


async def _attempt(auth: AuthHarness, login: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    r = await auth.http.post("/api/auth/login", json={"login": login, "password": "not the password"})
    elapsed = time.perf_counter() - started
    auth.clock.advance(300)  # let every rate-limit bucket refill: this test is about time, not limits
    return r, elapsed


async def test_unknown_account_login_matches_wrong_password(make_app: AppFactory) -> None:
    # Cost 10 (not the production 12) keeps the test quick while bcrypt still dominates the time.
    async with make_app(bcrypt_rounds=10) as auth:
        await auth.create_user("alice")
        for login in ("alice", "warm-up"):
            await _attempt(auth, login)
        wrong: list[float] = []
        unknown: list[float] = []
        for n in range(ATTEMPTS):
            r_wrong, t_wrong = await _attempt(auth, "alice")
            r_unknown, t_unknown = await _attempt(auth, f"nobody{n}@example.com")
            assert r_wrong.status_code == r_unknown.status_code == 401
            assert without_request_id(r_wrong.json()) == without_request_id(r_unknown.json())
            assert set(r_wrong.headers) == set(r_unknown.headers)
            wrong.append(t_wrong)
            unknown.append(t_unknown)
        m_wrong, m_unknown = statistics.median(wrong), statistics.median(unknown)
        assert m_wrong > 0.02, f"bcrypt did not run: median {m_wrong:.4f} s"
        assert abs(m_wrong - m_unknown) / max(m_wrong, m_unknown) < 0.2, (m_wrong, m_unknown)

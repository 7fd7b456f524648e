"""``/metrics`` behind ``COLLABCODE_METRICS_TOKEN``: only a request bearing the token reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from collabcode.app import create_app
from collabcode.settings import Settings, load_settings
from tests.conftest import TEST_ORIGIN

TOKEN = "m" * 16 + "etrics-token-for-the-test-only-0123"


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=8000, metrics_token=TOKEN)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            yield http


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
)
async def test_metrics_without_the_token_are_refused(guarded: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = await guarded.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"
    assert TOKEN not in response.text


async def test_metrics_with_the_token_are_served(guarded: httpx.AsyncClient) -> None:
    response = await guarded.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "collabcode_" in response.text


async def test_without_a_token_setting_metrics_stay_open(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200


def test_a_short_metrics_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="32 bytes"):
        load_settings(environ={"COLLABCODE_METRICS_TOKEN": "short"}, dotenv_path=tmp_path / "none.env")
    loaded = load_settings(environ={"COLLABCODE_METRICS_TOKEN": TOKEN}, dotenv_path=tmp_path / "none.env")
    assert loaded.metrics_token == TOKEN

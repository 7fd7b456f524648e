"""The settings table: precedence, validation, secrets, and documentation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from collabcode.instance_secrets import SECRETS_FILE, load_or_create_secrets
from collabcode.settings import SETTINGS, ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_flags_beat_environment_beat_dotenv_beat_defaults(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("COLLABCODE_PORT=7001\nCOLLABCODE_HOST=0.0.0.0\nCOLLABCODE_LOG_LEVEL=debug\n")
    env = {"COLLABCODE_PORT": "7002", "COLLABCODE_HOST": "10.1.2.3"}
    s = load_settings({"port": "7003"}, environ=env, dotenv_path=dotenv)
    assert s.port == 7003  # flag
    assert s.host == "10.1.2.3"  # environment over .env
    assert s.log_level == "debug"  # .env over default
    assert s.max_body_bytes == Settings().max_body_bytes  # default


def test_seed_names_are_accepted(tmp_path: Path) -> None:
    secret = "s" * 40
    s = load_settings(
        environ={
            "DATABASE_URL": "postgres://u:p@db:5432/app",
            "REDIS_URL": "redis://r:6379/0",
            "JWT_SECRET": secret,
            "JWT_REFRESH_SECRET": secret + "x",
            "AI_API_KEY": "k-123",
        },
        dotenv_path=tmp_path / "none",
    )
    assert s.resolved_database_url == "postgresql://u:p@db:5432/app"
    assert s.redis_url == "redis://r:6379/0"
    assert s.jwt_secret == secret and s.ai_api_key == "k-123"


def test_prefixed_name_wins_over_seed_name(tmp_path: Path) -> None:
    s = load_settings(
        environ={"DATABASE_URL": "postgresql://a/x", "COLLABCODE_DATABASE_URL": "postgresql://b/y"},
        dotenv_path=tmp_path / "none",
    )
    assert s.database_url == "postgresql://b/y"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"COLLABCODE_PORT": "http"}, "COLLABCODE_PORT: expected a whole number"),
        ({"COLLABCODE_PORT": "70000"}, "from 1 to 65535"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"COLLABCODE_PUBLIC_URL": "code.example.com"}, "absolute http"),
        ({"JWT_SECRET": "short"}, "at least 32 bytes"),
        ({"COLLABCODE_TRUSTED_PROXIES": "nginx"}, "IP addresses"),
        ({"COLLABCODE_LOG_FORMAT": "xml"}, "one of auto, json, console"),
    ],
)
def test_invalid_values_give_one_clear_line(tmp_path: Path, env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env, dotenv_path=tmp_path / "none")
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_redacted_hides_secrets() -> None:
    s = Settings(database_url="postgresql://u:hunter2hunter2@h/db", jwt_secret="j" * 40, ai_api_key="sk-secret")
    red = s.redacted()
    assert "hunter2hunter2" not in str(red) and "j" * 40 not in str(red) and "sk-secret" not in str(red)
    assert red["database_url"] == "postgresql://u:***@h/db"


def test_secrets_file_created_0600_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = load_or_create_secrets(settings)
    path = settings.data_dir / SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    assert all(len(v.encode()) >= 32 for v in first.values())
    assert load_or_create_secrets(settings) == first


def test_overexposed_secrets_file_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    load_or_create_secrets(settings)
    os.chmod(settings.data_dir / SECRETS_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_secrets(settings)


def test_explicit_jwt_secret_overrides_generated(tmp_path: Path) -> None:
    secret = "x" * 48
    got = load_or_create_secrets(Settings(data_dir=tmp_path / "d", jwt_secret=secret))
    assert got.jwt_secret == secret


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text("utf-8")
    missing = [s.name for s in SETTINGS if f"`{s.flag or s.env_names[0]}`" not in doc or s.env_names[0] not in doc]
    assert not missing, f"undocumented settings in docs/settings.md: {missing}"

"""The command line as an operator uses it: real processes, real ports, real files."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from collabcode import __version__
from tests.conftest import start_server, wait_healthy


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collabcode", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(cwd) if cwd else None,
        env={**os.environ, **(env or {})},
        input=input_text,
    )


def test_version() -> None:
    r = run_cli("--version")
    assert r.returncode == 0
    assert __version__ in r.stdout


def test_serve_help_comes_from_the_settings_table() -> None:
    r = run_cli("serve", "--help")
    assert r.returncode == 0
    for flag in (
        "--host",
        "--port",
        "--data-dir",
        "--database-url",
        "--redis-url",
        "--public-url",
        "COLLABCODE_PORT",
        "DATABASE_URL",
    ):
        assert flag in r.stdout


def test_serve_answers_within_two_seconds_and_secrets_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    started = time.monotonic()
    server = start_server(data, wait=False)
    try:
        wait_healthy(server, timeout=15)
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"took {elapsed:.2f} s to answer /healthz"
        assert httpx.get(server.url + "/readyz").status_code == 200
        metrics = httpx.get(server.url + "/metrics")
        assert metrics.status_code == 200 and "# TYPE collabcode_http_requests_total counter" in metrics.text
        shell = httpx.get(server.url + "/")
        assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
        secrets_path = data / "secrets.json"
        assert stat.S_IMODE(secrets_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        first = secrets_path.read_text()
    finally:
        assert server.stop() == 0  # graceful SIGTERM exits cleanly
    server = start_server(data)
    try:
        assert (data / "secrets.json").read_text() == first  # reused, not regenerated
    finally:
        server.stop()
    log = server.log_text()
    for value in json.loads(first).values():
        assert value not in log, "a secret appeared in the log"


def test_no_secret_reaches_logs_or_responses(tmp_path: Path) -> None:
    jwt_secret = "JWT-" + "q" * 40
    server = start_server(
        tmp_path / "data", env={"JWT_SECRET": jwt_secret, "AI_API_KEY": "sk-test-key-that-must-not-leak"}
    )
    try:
        bodies = [httpx.get(server.url + p).text for p in ("/healthz", "/readyz", "/metrics", "/", "/api/nope")]
    finally:
        server.stop()
    everything = server.log_text() + "".join(bodies)
    assert jwt_secret not in everything
    assert "sk-test-key-that-must-not-leak" not in everything


def test_logs_are_json_lines_with_request_ids(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--log-level", "debug")
    try:
        httpx.get(server.url + "/api/nope")
    finally:
        server.stop()
    lines = [line for line in server.log_text().splitlines() if line.startswith("{")]
    assert lines, server.log_text()
    for line in lines:
        record = json.loads(line)
        assert {"ts", "level", "logger", "msg"} <= set(record)


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["--port", "notaport"], {}, "--port"),
        ([], {"COLLABCODE_PUBLIC_URL": "ftp://x"}, "COLLABCODE_PUBLIC_URL"),
        (["--database-url", "mysql://x/y"], {}, "--database-url"),
    ],
)
def test_invalid_settings_exit_2_with_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], fragment: str
) -> None:
    r = run_cli("serve", "--data-dir", str(tmp_path / "d"), *args, env=env)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert fragment in lines[0] and "Traceback" not in r.stderr


def test_dotenv_in_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COLLABCODE_PORT=notaport\n")
    r = run_cli("serve", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert r.returncode == 2 and ".env entry COLLABCODE_PORT" in r.stderr


def test_unreachable_database_stops_startup_with_one_line(tmp_path: Path) -> None:
    r = run_cli(
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--database-url",
        "postgresql://nobody:pw-not-shown@127.0.0.1:1/none",
    )
    assert r.returncode == 1
    assert "cannot reach the database" in r.stderr and "pw-not-shown" not in r.stderr and "Traceback" not in r.stderr


def test_admin_migrate_and_dry_run(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    dry = run_cli("admin", "migrate", "--dry-run", "--data-dir", data)
    assert dry.returncode == 0 and "would apply" in dry.stdout and "0001" in dry.stdout
    real = run_cli("admin", "migrate", "--data-dir", data)
    assert real.returncode == 0 and "applied" in real.stdout
    again = run_cli("admin", "migrate", "--data-dir", data)
    assert again.returncode == 0 and "applied 0 migration" in again.stdout


def test_admin_doctor_passes_on_a_healthy_setup(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    assert run_cli("admin", "migrate", "--data-dir", data).returncode == 0
    r = run_cli("admin", "doctor", "--data-dir", data)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all checks passed" in r.stdout


def test_admin_doctor_fails_clearly_on_a_wrong_database_url(tmp_path: Path) -> None:
    r = run_cli(
        "admin",
        "doctor",
        "--data-dir",
        str(tmp_path / "d"),
        "--database-url",
        "postgresql://u:pw-hidden@127.0.0.1:1/db",
    )
    assert r.returncode == 1
    assert "database" in r.stderr and "failed" in r.stderr
    assert "pw-hidden" not in r.stdout + r.stderr


def test_admin_reads_the_environment_like_serve(tmp_path: Path) -> None:
    r = run_cli(
        "admin",
        "doctor",
        env={"COLLABCODE_DATA_DIR": str(tmp_path / "d"), "DATABASE_URL": "postgresql://127.0.0.1:1/x"},
    )
    assert r.returncode == 1 and "127.0.0.1:1" in r.stdout


@pytest.mark.postgres
def test_admin_migrate_and_doctor_on_postgres(tmp_path: Path, fresh_postgres_url: str) -> None:
    args = ("--data-dir", str(tmp_path / "d"), "--database-url", fresh_postgres_url)
    before = run_cli("admin", "doctor", *args)
    assert before.returncode == 1 and "pending" in before.stdout
    assert run_cli("admin", "migrate", *args).returncode == 0
    after = run_cli("admin", "doctor", *args)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "reachable" in after.stdout


def test_sigint_shuts_down_gracefully(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(15) == 0


def test_database_newer_than_the_code_stops_startup_with_one_line(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "d"
    assert run_cli("admin", "migrate", "--data-dir", str(data)).returncode == 0
    with sqlite3.connect(data / "collabcode.db") as conn:
        conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (9999, 'from_the_future', 0)")
    r = run_cli("serve", "--data-dir", str(data))
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("collabcode: error:")]
    assert len(errors) == 1 and "newer collabcode" in errors[0], r.stderr
    assert "Traceback" not in r.stderr


def test_wheel_ships_the_frontend_and_migrations(tmp_path: Path) -> None:
    import zipfile

    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(Path(__file__).parents[1])],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next(tmp_path.glob("collabcode-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "collabcode/static/index.html" in names
    assert "collabcode/static/manifest.json" in names
    assert any(n.startswith("collabcode/static/assets/") and n.endswith(".js") for n in names)
    assert "collabcode/db/migrations/0001_core.sql" in names
    assert not any("node_modules" in n for n in names)

"""``collabcode serve`` runs the built-in STUN server and a supervised coturn; doctor allocates on it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aioice import stun

from collabcode.calls.turn import TurnPaths
from tests.calls.harness import free_udp_port
from tests.conftest import start_server


def stun_answer(port: int, timeout: float = 0.3) -> tuple[str, int] | None:
    """The mapped address a STUN server on 127.0.0.1:``port`` reports, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        sock.sendto(bytes(request), ("127.0.0.1", port))
        try:
            data = sock.recv(2048)
        except OSError:
            return None
        response = stun.parse_message(data)
        assert response.transaction_id == request.transaction_id
        mapped: tuple[str, int] = response.attributes["XOR-MAPPED-ADDRESS"]
        assert mapped == sock.getsockname()
        return mapped


def wait_stun(port: int, timeout: float = 10.0) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = stun_answer(port)
        if answer is not None:
            return answer
    pytest.fail(f"nothing answered STUN on udp {port}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(shutil.which("turnserver") is None, reason="coturn's turnserver is not installed")
def test_serve_runs_stun_and_coturn_and_doctor_allocates(tmp_path: Path) -> None:
    stun_port, turn_port = free_udp_port(), free_udp_port()
    low = 40000 + (turn_port % 2000) * 4 + 1
    rtc = {
        "COLLABCODE_RTC_HOST": "127.0.0.1",
        "COLLABCODE_TURN_PORT": str(turn_port),
        "COLLABCODE_TURN_MIN_PORT": str(low),
        "COLLABCODE_TURN_MAX_PORT": str(low + 20),
        "COLLABCODE_TURN_ALLOW_LOOPBACK_PEERS": "true",
    }
    data_dir = tmp_path / "data"
    server = start_server(data_dir, "--stun-port", str(stun_port), "--turn", env=rtc)
    try:
        wait_stun(stun_port)  # the built-in server
        wait_stun(turn_port)  # coturn answers STUN on its own port
        paths = TurnPaths.of(data_dir)
        assert paths.config.stat().st_mode & 0o777 == 0o600
        deadline = time.monotonic() + 5
        while not paths.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(paths.pidfile.read_text().strip())
        assert alive(pid)

        doctor = subprocess.run(
            [sys.executable, "-m", "collabcode", "admin", "doctor", "--data-dir", str(data_dir)],
            env={**os.environ, **rtc, "COLLABCODE_TURN": "true"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "allocated relay" in doctor.stdout, doctor.stdout + doctor.stderr
    finally:
        assert server.stop() == 0, server.log_text()[-2000:]
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), "coturn outlived collabcode serve"
    assert stun_answer(stun_port) is None


def test_bad_call_settings_stop_serve_with_one_line(tmp_path: Path) -> None:
    cases = [
        (["--turn-url", "turn:turn.example.com:3478"], "COLLABCODE_TURN_SECRET"),
        (["--turn-min-port", "50000", "--turn-max-port", "49000"], "--turn-min-port"),
        (["--turn-url", "http://turn.example.com"], "TURN URLs"),
        (["--stun-port", "70000"], "--stun-port"),
        (["--turn", "--turn-url", "turn:turn.example.com"], "not both"),
    ]
    if shutil.which("turnserver"):
        cases.append((["--turn", "--turn-port", "49200"], "--turn-port must be outside"))
    for args, expected in cases:
        result = subprocess.run(
            [sys.executable, "-m", "collabcode", "serve", "--data-dir", str(tmp_path / "data"), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("collabcode: error:") and expected in lines[0], lines

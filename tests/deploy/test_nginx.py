"""docs/deploy/nginx.conf, as documented, in front of two ``collabcode serve`` processes on
PostgreSQL and Redis: sign-in over HTTPS, a collaboration session and a chat, each with its two
people on different processes, all through nginx; and the address collabcode sees for a client is
the one nginx saw, whatever X-Forwarded-For the client sent.

Only the deployment-specific values are rewritten (ports, certificate, paths nginx writes to);
everything else is the file operators copy.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.chat.harness import EventsClient
from tests.collab.live import YClient
from tests.conftest import LiveServer, start_server
from tests.fixtures_bus import RedisServer
from tests.services import free_port, require

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "docs" / "deploy" / "nginx.conf"
PASSWORD = "correct horse battery staple"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_config(workdir: Path, port: int, upstreams: list[int], cert: Path, key: Path) -> Path:
    """The documented server block with this test's ports, certificate and writable paths."""
    site = CONFIG.read_text()
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=5s;" for p in upstreams)
    upstream_lines = r"(?m)^    server 127\.0\.0\.1:800\d[^\n]*\n(    server 127\.0\.0\.1:800\d[^\n]*\n)*"
    site, count = re.subn(upstream_lines, servers + "\n", site)
    assert count == 1, "the upstream block of docs/deploy/nginx.conf changed shape"
    # The plain-HTTP redirect server is not exercised here (port 80 needs root and may be taken).
    site, count = re.subn(r"server \{\n    listen 80;.*?\n\}\n", "", site, flags=re.S)
    assert count == 1
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
    site = site.replace("listen [::]:443 ssl http2;\n", "")
    site = site.replace("/etc/letsencrypt/live/code.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/code.example.com/privkey.pem", str(key))
    main = f"""
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 512; }}
http {{
    log_format combined_upstream '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log {workdir}/access.log combined_upstream;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
{site}
}}
"""
    path = workdir / "nginx.conf"
    path.write_text(main)
    return path


def self_signed_certificate(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def deployment(
    tmp_path: Path, fresh_postgres_url: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path, list[LiveServer]]]:
    require(Path(NGINX).exists(), "nginx (Debian: apt install nginx-light)")
    workdir = tmp_path / "nginx"
    workdir.mkdir()
    cert, key = self_signed_certificate(workdir)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # websockets' default TLS context trusts it
    port = free_port()
    public = f"https://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    common = [
        "--database-url", fresh_postgres_url, "--redis-url", redis_server.url, "--public-url", public,
        "--trusted-proxies", "127.0.0.1",
    ]
    first = start_server(data_dir, *common)
    second = start_server(data_dir, *common)
    config = nginx_config(workdir, port, [first.port, second.port], cert, key)
    check = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen([NGINX, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(public + "/healthz", verify=trust, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert nginx.poll() is None, (workdir / "error.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "nginx did not answer"
            time.sleep(0.1)
        for name in ("alice", "bob"):
            created = subprocess.run(
                [sys.executable, "-m", "collabcode", "admin", "users", "create", f"{name}@example.com",
                 "--username", name, "--verified", "--password-stdin", "--data-dir", str(data_dir),
                 "--database-url", fresh_postgres_url],
                input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
            )
            assert created.returncode == 0, created.stderr
        yield public, cert, [first, second]
    finally:
        nginx.terminate()
        nginx.wait(10)
        for server in (first, second):
            assert server.stop() == 0
    log = (workdir / "access.log").read_text()
    used = set(re.findall(r'"GET /ws/\S+ HTTP/1\.1" 101 upstream=(\S+)', log))
    expected = {f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"}
    assert used == expected, f"sockets did not reach both processes:\n{log}"


async def sign_in(http: httpx.AsyncClient, public: str, name: str) -> str:
    response = await http.post(
        "/api/auth/login",
        json={"login": name, "password": PASSWORD},
        headers={"origin": public, "x-forwarded-for": "6.6.6.6"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def scenario(public: str, cert: Path) -> None:
    # The client connects from 127.0.0.2, so the address nginx forwards is distinguishable.
    trust = ssl.create_default_context(cafile=str(cert))
    transport = httpx.AsyncHTTPTransport(verify=trust, local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=public, transport=transport, timeout=10) as http:
        alice, bob = await sign_in(http, public, "alice"), await sign_in(http, public, "bob")
        auth_a, auth_b = {"authorization": f"Bearer {alice}"}, {"authorization": f"Bearer {bob}"}

        sessions = (await http.get("/api/auth/sessions", headers=auth_a)).json()["sessions"]
        assert {s["ip"] for s in sessions} == {"127.0.0.2"}, sessions  # not the spoofed 6.6.6.6

        workspace = (await http.post("/api/workspaces", json={"name": "behind nginx"}, headers=auth_a)).json()
        wid = workspace["id"]
        added = await http.post(
            f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "editor"}, headers=auth_a
        )
        assert added.status_code == 201, added.text
        created = await http.post(
            f"/api/workspaces/{wid}/files", json={"path": "main.py", "kind": "file", "content": ""}, headers=auth_a
        )
        fid = created.json()["id"]

        wss = public.replace("https://", "wss://")
        # Consecutive handshakes: least_conn sends them to different processes (checked in the log).
        left = await YClient("alice").connect(f"{wss}/ws/collab/{wid}/{fid}", headers=auth_a)
        right = await YClient("bob").connect(f"{wss}/ws/collab/{wid}/{fid}", headers=auth_b)
        await left.wait_synced()
        await right.wait_synced()
        left.type("print('hello')\n")
        await right.wait_text("print('hello')\n")
        right.text.insert(len(right.text), "# from bob\n")
        await left.wait_text("print('hello')\n# from bob\n")
        await left.close()
        await right.close()

        conversation = (await http.post("/api/conversations", json={"username": "bob"}, headers=auth_a)).json()
        sockets = []
        for auth, name in ((auth_a, "alice"), (auth_b, "bob")):
            ws = await websockets.connect(f"{wss}/ws/events", additional_headers=auth, open_timeout=10)
            client = EventsClient(ws, name)
            await client.wait_for(lambda f: f.get("type") in ("synced", "resync"), "synced")
            sockets.append(client)
        alice_events, bob_events = sockets
        sent = await http.post(
            f"/api/conversations/{conversation['id']}/messages",
            json={"body": "through the proxy", "client_id": uuid.uuid4().hex},
            headers=auth_a,
        )
        assert sent.status_code in (200, 201), sent.text
        message = await bob_events.wait_type("message")
        assert message["message"]["body"] == "through the proxy"
        receipt = await alice_events.wait_type("receipt")
        assert receipt["delivered_seq"] >= 1
        for client in sockets:
            await client.close()


def test_two_processes_behind_the_documented_nginx(deployment: tuple[str, Path, list[LiveServer]]) -> None:
    public, cert, _servers = deployment
    asyncio.run(scenario(public, cert))

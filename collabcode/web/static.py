"""Serve the prebuilt frontend: hashed assets cached for a year, pre-compressed variants, the app shell."""

from __future__ import annotations

import hashlib
import mimetypes
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from collabcode.errors import NotFound

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# Client-side routes of the single-page app; the server answers each with the shell.
APP_ROUTES = (
    "/",
    "/scratch",
    "/signin",
    "/signup",
    "/check-email",
    "/verify-email",
    "/forgot-password",
    "/reset-password",
    "/setup",
    "/settings/account",
    "/workspaces",
    "/w/{workspace_id}",
    "/w/{workspace_id}/f/{file_id}",
    "/messages",
    "/messages/{conversation_id}",
    "/calls",
    "/dashboard",
    "/u/{username}",
    "/admin",
    "/admin/users",
    "/admin/invites",
    "/admin/settings",
    "/admin/health",
)

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("font/ttf", ".ttf")
mimetypes.add_type("application/manifest+json", ".webmanifest")

_MISSING_BUILD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>collabcode</title></head>
<body><main><h1>collabcode</h1><p>The web interface has not been built in this checkout.
Run <code>npm ci &amp;&amp; npm run build</code> in <code>frontend/</code>, or install a released package.</p>
<p>The API is running: see <a href="/healthz">/healthz</a>.</p></main></body></html>"""


def static_root() -> Path:
    return Path(str(resources.files("collabcode") / "static"))


@lru_cache(maxsize=4096)
def _etag(path: str, mtime_ns: int, size: int) -> str:
    return '"' + hashlib.sha256(f"{path}:{mtime_ns}:{size}".encode()).hexdigest()[:20] + '"'


def _safe_join(root: Path, rel: str) -> Path | None:
    if "\x00" in rel or "\\" in rel:
        return None
    parts = [p for p in rel.split("/") if p]
    if any(p in {".", ".."} or p.startswith(".") for p in parts) or not parts:
        return None
    candidate = root.joinpath(*parts)
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


def _accepts_gzip(request: Request) -> bool:
    return any(part.split(";")[0].strip() == "gzip" for part in request.headers.get("accept-encoding", "").split(","))


def file_response(request: Request, path: Path, cache_control: str) -> Response:
    """A file with its pre-compressed ``.gz`` sibling when the client takes gzip."""
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type in {"application/json", "image/svg+xml"}:
        media_type += "; charset=utf-8"
    served = path
    headers = {"cache-control": cache_control, "vary": "Accept-Encoding"}
    gz = path.with_name(path.name + ".gz")
    if _accepts_gzip(request) and gz.is_file():
        served = gz
        headers["content-encoding"] = "gzip"
    stat = os.stat(served)
    etag = _etag(str(served), stat.st_mtime_ns, stat.st_size)
    headers["etag"] = etag
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return FileResponse(served, media_type=media_type, headers=headers, stat_result=stat)


async def static_file(request: Request) -> Response:
    rel = str(request.path_params.get("path", ""))
    root = static_root()
    path = _safe_join(root, rel)
    if path is None or path.name.endswith(".gz"):
        raise NotFound("No such file.")
    cache = IMMUTABLE if rel.startswith("assets/") else REVALIDATE
    response = file_response(request, path, cache)
    if rel == "sw.js":
        # The offline app shell's service worker lives under /static/ but controls every app route.
        response.headers["service-worker-allowed"] = "/"
    return response


def shell_response(request: Request, status_code: int = 200) -> Response:
    """The app shell (index.html); never cached, so a new release is picked up at once."""
    index = static_root() / "index.html"
    if not index.is_file():
        return HTMLResponse(_MISSING_BUILD, status_code=status_code, headers={"cache-control": REVALIDATE})
    response = file_response(request, index, REVALIDATE)
    response.status_code = status_code if response.status_code == 200 else response.status_code
    return response


async def app_shell(request: Request) -> Response:
    return shell_response(request)

"""Avatars: only real raster images get in, and what is served is a clean re-encoding."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.chat.harness import ChatEnv, Person
from tests.social.conftest import profile


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, (200, 30, 60, 255) if mode == "RGBA" else (200, 30, 60)).save(out, format=fmt, **save)
    return out.getvalue()


async def upload(env: ChatEnv, person: Person, data: bytes, content_type: str, expect: int) -> dict[str, object]:
    response = await env.call(
        person, "PUT", "/api/me/avatar", content=data, headers={"content-type": content_type}, expect=expect
    )
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
async def test_accepted_formats_are_reencoded_and_served_safely(env: ChatEnv, fmt: str, content_type: str) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    result = await upload(env, alice, image_bytes(fmt, (1200, 600)), content_type, 200)
    url = str(result["avatar_url"])
    assert url.startswith("/api/avatars/") and (result["width"], result["height"]) == (512, 256)
    assert (await profile(env, bob, "alice"))["avatar_url"] == url

    served = await env.http.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"
    etag = served.headers["etag"]
    assert Image.open(io.BytesIO(served.content)).size == (512, 256)
    again = await env.http.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""

    by_name = await env.call(bob, "GET", "/api/users/alice/avatar", expect=200)
    assert by_name.content == served.content and by_name.headers["etag"] == etag
    assert by_name.headers["content-security-policy"] == "default-src 'none'"


async def test_metadata_and_hidden_payloads_are_gone(env: ChatEnv) -> None:
    alice = await env.person("alice")
    exif = Image.Exif()
    exif[0x010E] = "secret-description"  # ImageDescription
    exif[0x8298] = "secret-copyright"
    jpeg = image_bytes("JPEG", exif=exif.tobytes())
    assert b"secret-description" in jpeg
    url = str((await upload(env, alice, jpeg, "image/jpeg", 200))["avatar_url"])
    served = (await env.http.get(url)).content
    assert b"secret" not in served

    # A PNG with a script after its end (a polyglot) is refused ...
    polyglot = image_bytes("PNG") + b"\x00" * 2048 + b"<SCRIPT>alert(document.cookie)</script>"
    refused = await upload(env, alice, polyglot, "image/png", 415)
    assert refused["error"]["details"]["rule"] == "script"  # type: ignore[index]
    # ... and any other trailing payload is dropped by the re-encoding.
    trailing = image_bytes("PNG") + b"<?php system($_GET['c']); ?>PK\x03\x04"
    url = str((await upload(env, alice, trailing, "image/png", 200))["avatar_url"])
    served = (await env.http.get(url)).content
    assert b"<?php" not in served and b"PK\x03\x04" not in served


# Refusals happen before anything is stored: one database is enough for this matrix.
@pytest.mark.parametrize("db_dialect", ["sqlite"])
@pytest.mark.parametrize(
    ("data", "content_type", "status", "rule"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml", 415, "svg"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/png", 415, "markup"),
        (b'<?xml version="1.0"?><svg onload="alert(1)"/>', "image/gif", 415, "markup"),
        (b"<html><script>alert(1)</script></html>", "image/jpeg", 415, "markup"),
        (b"just some text, not an image at all", "image/png", 415, "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", 415, "undecodable"),
        (b"", "image/png", 422, "empty"),
        (b"hello", "text/plain", 415, "media_type"),
        (b"hello", "application/octet-stream", 415, "media_type"),
    ],
)
async def test_non_images_and_svg_are_refused(
    env: ChatEnv, data: bytes, content_type: str, status: int, rule: str
) -> None:
    alice = await env.person("alice")
    body = await upload(env, alice, data, content_type, status)
    assert body["error"]["details"]["rule"] == rule  # type: ignore[index]
    assert (await profile(env, alice, "alice"))["avatar_url"] is None


async def test_declared_type_must_match_the_bytes(env: ChatEnv) -> None:
    alice = await env.person("alice")
    body = await upload(env, alice, image_bytes("JPEG"), "image/png", 415)
    assert body["error"]["details"]["rule"] == "type_mismatch"  # type: ignore[index]


async def test_size_and_dimension_limits(env: ChatEnv) -> None:
    alice = await env.person("alice")
    wide = await upload(env, alice, image_bytes("PNG", (4097, 8)), "image/png", 422)
    assert wide["error"]["details"]["rule"] == "dimensions"  # type: ignore[index]
    await upload(env, alice, image_bytes("PNG", (4096, 8)), "image/png", 200)
    # Over 1 MiB: refused before anything is decoded.
    big = image_bytes("PNG") + b"\x00" * (1 << 20)
    too_big = await env.call(
        alice, "PUT", "/api/me/avatar", content=big, headers={"content-type": "image/png"}, expect=413
    )
    assert too_big.json()["error"]["code"] in ("payload_too_large", "image_too_large")


async def test_delete_returns_to_initials(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    url = str((await upload(env, alice, image_bytes("PNG"), "image/png", 200))["avatar_url"])
    gone = await env.call(alice, "DELETE", "/api/me/avatar", expect=200)
    assert gone.json()["avatar_url"] is None and gone.json()["avatar_color"].startswith("#")
    assert (await env.http.get(url)).status_code == 404
    missing = await env.call(bob, "GET", "/api/users/alice/avatar", expect=404)
    assert missing.json()["error"]["code"] == "no_avatar"
    await env.call(
        None, "PUT", "/api/me/avatar", content=image_bytes("PNG"), headers={"content-type": "image/png"}, expect=401
    )
    # A blocked viewer cannot fetch the avatar by name either.
    await upload(env, alice, image_bytes("PNG"), "image/png", 200)
    await env.call(alice, "POST", "/api/users/bob/block", expect=204)
    await env.call(bob, "GET", "/api/users/alice/avatar", expect=404)
    assert (await env.http.get("/api/avatars/not-an-id")).status_code == 404
    assert (await env.http.get("/api/avatars/" + "0" * 32)).status_code == 404

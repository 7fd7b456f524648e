"""Avatar images: accept only real raster images, and store a fresh re-encoding, never the upload.

An upload must declare ``image/png``, ``image/jpeg``, ``image/webp`` or ``image/gif``, start with
that format's magic bytes, and decode (with Pillow) to at most 4096x4096 pixels. SVG, anything
that starts like markup, and any file carrying ``<script``, ``<html`` or ``javascript:`` anywhere
(a polyglot) is refused whatever it claims to be. The first frame
is then drawn into a new image (EXIF orientation applied), scaled to fit 512x512, and encoded
as WebP (PNG where Pillow lacks WebP): metadata, trailing bytes and anything a polyglot file hid
are gone, and what is served is always exactly the type it says.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from collabcode.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MAX_BYTES = 1 << 20
MAX_SIDE = 4096
#: Stored avatars fit in this square; larger images are scaled down.
STORED_SIDE = 512

ACCEPTED = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}

_MARKUP_HINTS = (b"<svg", b"<?xml", b"<!doctype", b"<html", b"<script", b"javascript:")
#: Refused anywhere in the file, not only at its start (a polyglot carrying a script).
_SCRIPT_HINTS = (b"<script", b"javascript:", b"<html")


@dataclass(frozen=True, slots=True)
class Avatar:
    content_type: str
    width: int
    height: int
    data: bytes


def _refuse(rule: str, message: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(message, code="unsupported_image", details={"field": "body", "rule": rule})


def sniff(data: bytes) -> str | None:
    """The format the magic bytes name (``PNG``, ``JPEG``, ``WEBP``, ``GIF``), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def looks_like_markup(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") or any(hint in head for hint in _MARKUP_HINTS)


def carries_script(data: bytes) -> bool:
    lowered = data.lower()
    return any(hint in lowered for hint in _SCRIPT_HINTS)


def check_declared(content_type: str) -> str:
    """The Pillow format for a declared media type; 415 for anything else (SVG included)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "image/svg+xml":
        raise _refuse("svg", "SVG images are not accepted as avatars; upload a PNG, JPEG, WebP or GIF.")
    fmt = ACCEPTED.get(kind)
    if fmt is None:
        raise _refuse("media_type", "Upload the avatar as image/png, image/jpeg, image/webp or image/gif.")
    return fmt


def output_format() -> tuple[str, str]:
    """(Pillow format, media type) avatars are stored in."""
    from PIL import features

    return ("WEBP", "image/webp") if features.check("webp") else ("PNG", "image/png")


def process(data: bytes, declared: str) -> Avatar:
    """Validate an upload of the ``declared`` Pillow format and re-encode it (CPU-bound: run in a thread).

    Pillow is imported here, on the first upload, so it costs nothing at start-up.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"An avatar is at most {MAX_BYTES} bytes.", code="image_too_large")
    if not data:
        raise ValidationFailed("body: the image is empty", details={"field": "body", "rule": "empty"})
    if looks_like_markup(data):
        raise _refuse("markup", "This is markup (SVG, HTML or XML), not an image.")
    if carries_script(data):
        raise _refuse("script", "The file carries a script or HTML besides the image.")
    actual = sniff(data)
    if actual is None:
        raise _refuse("not_an_image", "This is not a PNG, JPEG, WebP or GIF image.")
    if actual != declared:
        raise _refuse("type_mismatch", f"The file is {actual}, not what its Content-Type says.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[actual]) as image:
                width, height = image.size
                if width < 1 or height < 1:
                    raise _refuse("not_an_image", "The image has no pixels.")
                if width > MAX_SIDE or height > MAX_SIDE:
                    raise ValidationFailed(
                        f"body: an avatar is at most {MAX_SIDE}x{MAX_SIDE} pixels (this one is {width}x{height})",
                        code="image_too_large",
                        details={"field": "body", "rule": "dimensions"},
                    )
                image.seek(0)
                image.load()
                frame = ImageOps.exif_transpose(image)
                mode = "RGBA" if "A" in frame.getbands() or "transparency" in frame.info else "RGB"
                clean = frame.convert(mode)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse("undecodable", "The image could not be decoded.") from None
    except Image.DecompressionBombWarning:
        raise _refuse("undecodable", "The image could not be decoded.") from None
    clean.thumbnail((STORED_SIDE, STORED_SIDE), Image.Resampling.LANCZOS)
    fmt, media_type = output_format()
    out = io.BytesIO()
    if fmt == "WEBP":
        clean.save(out, format="WEBP", quality=88, method=4)
    else:
        clean.save(out, format="PNG", optimize=True)
    return Avatar(media_type, clean.width, clean.height, out.getvalue())

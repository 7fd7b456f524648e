"""One error family and one JSON envelope for the whole HTTP API.

Handlers raise :class:`AppError` (or a subclass); the error middleware turns it into
``{"error": {"code", "message", "request_id"}}`` with the right status. Anything else that
escapes a handler is a bug: it is logged with its traceback and answered with a bare 500 that
reveals nothing.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a client is meant to see: status, a stable machine code and a human message."""

    status: int = 400
    code: str = "bad_request"
    message: str = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.status = status or type(self).status
        self.code = code or type(self).code
        self.headers = headers or {}
        self.details = details
        super().__init__(self.message)


class BadRequest(AppError):
    status, code, message = 400, "bad_request", "The request is malformed."


class Unauthorized(AppError):
    status, code, message = 401, "unauthorized", "Authentication is required."


class Forbidden(AppError):
    status, code, message = 403, "forbidden", "You are not allowed to do this."


class NotFound(AppError):
    status, code, message = 404, "not_found", "Not found."


class MethodNotAllowed(AppError):
    status, code, message = 405, "method_not_allowed", "This method is not allowed here."


class Conflict(AppError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(AppError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class UnsupportedMediaType(AppError):
    status, code, message = 415, "unsupported_media_type", "Send the body as application/json."


class ValidationFailed(AppError):
    status, code, message = 422, "validation_failed", "The request is not valid."


class RateLimited(AppError):
    status, code, message = 429, "rate_limited", "Too many requests; try again later."

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(message, headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


class ServiceUnavailable(AppError):
    status, code, message = 503, "service_unavailable", "A service collabcode depends on is unavailable."

    def __init__(self, message: str | None = None, *, retry_after: int = 5, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(retry_after)})


class InsufficientStorage(AppError):
    status, code, message = 507, "insufficient_storage", "The server is out of disk space."


def error_body(
    code: str, message: str, request_id: str | None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The uniform error envelope (SECURITY.md): never a trace, path, SQL or secret."""
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        error["details"] = details
    return {"error": error}

"""Reading JSON request bodies safely: content type, UTF-8, depth, then a strict schema."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from collabcode.errors import BadRequest, UnsupportedMediaType, ValidationFailed

ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_JSON_DEPTH = 32


def _depth_ok(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


async def read_json(request: Request) -> Any:
    """The decoded JSON body: 415 if not JSON, 400 if malformed or too deep."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.", code="invalid_utf8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadRequest("The body is not valid JSON.", code="invalid_json") from None
    if not _depth_ok(value, MAX_JSON_DEPTH):
        raise BadRequest(f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.", code="json_too_deep")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def validate(model: type[ModelT], value: Any) -> ModelT:
    """Validate decoded JSON against a model; 422 names the first offending field."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        loc = errors[0]["loc"] if errors else ()
        field = ".".join(str(p) for p in loc) or "body"
        message = errors[0]["msg"] if errors else "invalid value"
        rule = errors[0]["type"] if errors else "invalid"
        raise ValidationFailed(f"{field}: {message}", details={"field": field, "rule": rule}) from None


async def parse_body(request: Request, model: type[ModelT]) -> ModelT:
    """Read and validate a JSON body in one call."""
    return validate(model, await read_json(request))

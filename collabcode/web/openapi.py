"""The OpenAPI 3.1 document of the HTTP API, built from per-feature operation lists.

Each feature describes its routes in ``collabcode/<feature>/api_doc.py`` as :class:`Operation`
entries; :func:`build_document` turns them into one document, with request bodies taken from the
very pydantic models the handlers validate with, so the schema a client reads is the one the
server enforces. Every error shares one ``Error`` schema: the envelope of :func:`collabcode.errors.error_body`.
Tests check that every route has exactly one operation and that the document validates.

``python -m collabcode.web.openapi --markdown`` prints the readable summary kept in docs/openapi.md;
without ``--markdown`` it prints the document itself.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from collabcode import __version__

#: "optional": public, but a Bearer token is used when sent (sign-out, resending a verification mail).
Auth = Literal["public", "optional", "user", "admin"]
Schema = dict[str, Any]
#: A query parameter: name, JSON schema, required.
QueryParam = tuple[str, Schema, bool]

OPENAPI_PATH = "/api/openapi.json"
#: Methods the origin check guards (docs/api.md, Cross-origin requests).
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REF_PREFIX = "#/components/schemas/"
HEX_ID = r"^[0-9a-f]{32}$"
USERNAME = r"^[A-Za-z0-9_-]{1,64}$"

#: Path parameters by name, with the pattern the handlers accept: another id is 404 ``not_found``,
#: another version 422 (an invite token may be anything: a malformed one is simply not valid).
PATH_PARAMS: dict[str, Schema] = {
    "workspace_id": {"type": "string", "pattern": HEX_ID},
    "file_id": {"type": "string", "pattern": HEX_ID},
    "user_id": {"type": "string", "pattern": HEX_ID},
    "conversation_id": {"type": "string", "pattern": HEX_ID},
    "message_id": {"type": "string", "pattern": HEX_ID},
    "call_id": {"type": "string", "pattern": HEX_ID},
    "session_id": {"type": "string", "pattern": HEX_ID},
    "invite_id": {"type": "string", "pattern": HEX_ID},
    "avatar_id": {"type": "string", "pattern": HEX_ID},
    "comment_id": {"type": "string", "pattern": HEX_ID},
    "username": {"type": "string", "pattern": USERNAME},
    "token": {"type": "string"},
    "version": {"type": "string", "pattern": r"^[0-9]{1,19}$"},
}

ERROR_SCHEMA: Schema = {
    "type": "object",
    "description": "The one error envelope of the API (docs/api.md, Errors).",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "A stable machine code, e.g. `validation_failed`."},
                "message": {"type": "string", "description": "A human message; never a trace, path or secret."},
                "request_id": {
                    "type": ["string", "null"],
                    "description": "The request's id, also in `X-Request-ID` and the logs.",
                },
                "details": {
                    "type": "object",
                    "description": "Machine-readable detail: `field` and `rule` for refused input; a few codes add "
                    "their own keys (`setting_read_only`: `flag`, `env`; `assistant_off`: `reason`).",
                    "additionalProperties": True,
                },
            },
        }
    },
}

SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "public": [],
    "optional": [{}, {"bearer": []}],
    "user": [{"bearer": []}],
    "admin": [{"bearer": []}],
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "string"}}}
WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": '`Bearer realm="collabcode"`', "schema": {"type": "string"}}}


# -- schema shorthands for the api_doc modules --------------------------------------------------

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
ID: Schema = {"type": "string", "pattern": HEX_ID}
#: A time as the accounts, chat, social and calls APIs write it (ISO 8601 UTC, milliseconds).
TIME: Schema = {"type": "string", "format": "date-time"}
#: A time as the workspaces API writes it (milliseconds since the epoch).
EPOCH_MS: Schema = {"type": "integer", "minimum": 0}


def integer(minimum: int | None = None, maximum: int | None = None) -> Schema:
    """An integer within bounds (the shorthands keep ``"type": ...`` literals out of the feature
    packages, whose doc tests read ``"type": "<name>"`` in their sources as event frame types)."""
    schema: Schema = dict(INTEGER)
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def text(*, pattern: str | None = None, max_length: int | None = None) -> Schema:
    """A string, optionally with a pattern and a maximum length."""
    schema: Schema = dict(STRING)
    if pattern is not None:
        schema["pattern"] = pattern
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def binary(media_type: str) -> Schema:
    """Bytes of ``media_type`` (an image, a zip)."""
    return {**STRING, "contentMediaType": media_type}


#: Any JSON object; ``NULL`` only null; ``NOTHING_YET`` an array that is always empty for now.
ANY_OBJECT: Schema = {"type": "object"}
NULL: Schema = {"type": "null"}
NOTHING_YET: Schema = {"type": "array", "maxItems": 0}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def obj(properties: dict[str, Schema], optional: Iterable[str] = (), *, closed: bool = False) -> Schema:
    """An object whose keys are all sent except ``optional`` ones; open to new keys unless ``closed``."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in set(optional)],
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


#: Response shapes shared by several operations, by component name (filled by the api_doc modules).
COMPONENTS: dict[str, Schema] = {}


def component(name: str, schema: Schema) -> Schema:
    """Register ``schema`` as ``#/components/schemas/<name>`` and return a reference to it."""
    if COMPONENTS.setdefault(name, schema) != schema:
        raise ValueError(f"two different schemas are named {name}")
    return {"$ref": REF_PREFIX + name}


def _referenced(value: Any, found: set[str]) -> None:
    """Collect, transitively, the component names referenced from ``value``."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            name = ref.removeprefix(REF_PREFIX)
            if name not in found:
                found.add(name)
                if name in COMPONENTS:
                    _referenced(COMPONENTS[name], found)
        for item in value.values():
            _referenced(item, found)
    elif isinstance(value, list):
        for item in value:
            _referenced(item, found)


@dataclass(frozen=True)
class Reply:
    """One documented response: a description and, for a body, its schema and media type."""

    description: str
    schema: Schema | type[BaseModel] | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: Other media types the same status may answer with (e.g. ``?format=trailers``): type -> schema.
    also: dict[str, Schema] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One route and method of the HTTP API, as documented.

    ``body`` is the pydantic model the handler validates the JSON body with; ``raw_body`` names the
    media types of a non-JSON body (text, zip, image). Error statuses that every operation of its
    kind can answer (401, 404 for ids, 400/413/415/422 for bodies, 429, 503) are added by
    :func:`build_document`; ``responses`` holds the success answers and operation-specific errors.
    """

    method: str
    path: str
    summary: str
    tag: str
    auth: Auth
    responses: dict[int, Reply | str]
    body: type[BaseModel] | None = None
    body_required: bool = True
    raw_body: dict[str, Schema] | None = None
    query: Sequence[QueryParam] = ()
    #: Cookies the operation reads (all optional).
    cookies: Sequence[str] = ()
    rate_limited: bool = False
    #: False for answers that need neither the database nor the broker (no 503).
    needs_services: bool = True
    description: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.method.upper(), self.path


# -- routes of an app ------------------------------------------------------------------------


def endpoints(app_or_routes: Starlette | Iterable[BaseRoute]) -> list[tuple[str, str, Route | WebSocketRoute]]:
    """Every endpoint of an app as ``(kind, key, route)``: ``("http", "GET /path", route)`` per
    method (HEAD is implied by GET) or ``("socket", "/path", route)``; Mounts are walked.

    A route of another kind raises: whatever the app serves must be describable here, so the
    OpenAPI document and the access table cannot miss it.
    """
    routes = app_or_routes.routes if isinstance(app_or_routes, Starlette) else app_or_routes
    found: list[tuple[str, str, Route | WebSocketRoute]] = []

    def walk(items: Iterable[BaseRoute], prefix: str) -> None:
        for route in items:
            if isinstance(route, Mount):
                walk(route.routes, prefix + route.path)
            elif isinstance(route, WebSocketRoute):
                found.append(("socket", prefix + route.path, route))
            elif isinstance(route, Route):
                for method in sorted((route.methods or set()) - {"HEAD"}):
                    found.append(("http", f"{method} {prefix + route.path}", route))
            else:
                raise TypeError(f"a route of an unknown kind: {route!r}")

    walk(routes, "")
    return found


def http_routes(app_or_routes: Starlette | Iterable[BaseRoute]) -> list[tuple[str, str, Route]]:
    """Every HTTP (method, path, route) of an app, Mounts included; HEAD is implied by GET."""
    found: list[tuple[str, str, Route]] = []
    for kind, key, route in endpoints(app_or_routes):
        if kind == "http" and isinstance(route, Route):
            method, path = key.split(" ", 1)
            found.append((method, path, route))
    return found


def path_template(path: str) -> str:
    """A Starlette path (``/static/{path:path}``) as an OpenAPI template (``/static/{path}``)."""
    return re.sub(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-z]+)?\}", r"{\1}", path)


def path_parameter_names(path: str) -> list[str]:
    return re.findall(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}", path)


# -- building the document -------------------------------------------------------------------


def _error(description: str, headers: dict[str, Any] | None = None) -> Schema:
    reply: Schema = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF_PREFIX + "Error"}}},
    }
    if headers:
        reply["headers"] = headers
    return reply


def _standard_errors(op: Operation) -> dict[int, Schema]:
    """The error answers an operation of this kind can give whatever it does."""
    errors: dict[int, Schema] = {}
    has_json_body = op.body is not None
    if has_json_body:
        errors[400] = _error("Malformed JSON: `invalid_json`, `invalid_utf8`, `json_too_deep`.")
    if op.auth in {"user", "admin"}:
        errors[401] = _error("No valid access token: `unauthorized`.", WWW_AUTHENTICATE)
    refusals = []
    if op.auth == "admin":
        refusals.append("The caller is not an administrator: `forbidden`.")
    if op.method.upper() in STATE_CHANGING:
        refusals.append("A browser request from another origin: `origin_not_allowed`.")
    if refusals:
        errors[403] = _error(" ".join(refusals))
    if path_parameter_names(op.path):
        errors[404] = _error("No such object, one the caller may not see, or a malformed id: `not_found`.")
    if has_json_body or op.raw_body:
        errors[413] = _error("The body is over the size limit: `payload_too_large`.")
    if has_json_body:
        errors[415] = _error("The body is not `application/json`: `unsupported_media_type`.")
    checked_query = any(schema != STRING for _, schema, _ in op.query)
    if has_json_body or checked_query:
        errors[422] = _error("A field or query parameter is invalid: `validation_failed`; the error's details name it.")
    if op.method.upper() in STATE_CHANGING:
        errors[409] = _error("A change made at the same moment got in the way: `conflict`; try again.")
    if op.rate_limited:
        errors[429] = _error("Too many requests: `rate_limited`.", RETRY_AFTER)
    if op.needs_services:
        errors[503] = _error("A dependency is unavailable: `service_unavailable`, `database_unavailable`.", RETRY_AFTER)
    return errors


def _reply(reply: Reply | str, status: int, body_schemas: dict[type[BaseModel], Schema]) -> Schema:
    if isinstance(reply, str):
        reply = Reply(reply)
    headers = {name: {"description": text, "schema": {"type": "string"}} for name, text in reply.headers.items()}
    if status >= 400 and reply.schema is None:
        out = _error(reply.description)
        if headers:
            out["headers"] = headers
        return out
    out = {"description": reply.description}
    if reply.schema is not None:
        schema = body_schemas[reply.schema] if isinstance(reply.schema, type) else reply.schema
        out["content"] = {reply.content_type: {"schema": schema}}
        out["content"].update({media: {"schema": extra} for media, extra in reply.also.items()})
    if headers:
        out["headers"] = headers
    return out


def _parameters(op: Operation) -> list[Schema]:
    params: list[Schema] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS.get(name, {"type": "string"})}
        for name in path_parameter_names(op.path)
    ]
    params.extend(
        {"name": name, "in": "query", "required": required, "schema": schema} for name, schema, required in op.query
    )
    params.extend({"name": name, "in": "cookie", "required": False, "schema": STRING} for name in op.cookies)
    return params


def _models(operations: Iterable[Operation]) -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = []
    for op in operations:
        candidates = [op.body, *(r.schema for r in op.responses.values() if isinstance(r, Reply))]
        for model in candidates:
            if isinstance(model, type) and issubclass(model, BaseModel) and model not in models:
                models.append(model)
    return models


def _operation(op: Operation, body_schemas: dict[type[BaseModel], Schema]) -> Schema:
    responses = {status: _reply(reply, status, body_schemas) for status, reply in op.responses.items()}
    for status, standard in _standard_errors(op).items():
        if status not in responses:
            responses[status] = standard
        elif isinstance(op.responses[status], str):
            responses[status]["description"] = f"{standard['description']} Also: {responses[status]['description']}"
    out: Schema = {
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', op.path).strip('_')}",
        "summary": op.summary,
        "tags": [op.tag],
        "x-auth": op.auth,
        "security": SECURITY[op.auth],
        "responses": {str(status): responses[status] for status in sorted(responses)},
    }
    if op.description:
        out["description"] = op.description
    params = _parameters(op)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": body_schemas[op.body]}},
        }
    elif op.raw_body:
        out["requestBody"] = {
            "required": True,
            "content": {media: {"schema": schema} for media, schema in op.raw_body.items()},
        }
    return out


DESCRIPTION = """The HTTP API of collabcode. Authenticated operations take `Authorization: Bearer <access token>` \
(from `POST /api/auth/login`, renewed with `POST /api/auth/refresh`). Every error has the `Error` body. \
JSON bodies are closed: an unknown field is `422 validation_failed`.

Two WebSocket endpoints are not described here: `/ws/collab/{workspace_id}/{file_id}` (the Yjs \
collaboration protocol) and `/ws/events` (chat, presence, calls, workspace events); their frames, \
authentication and close codes are in \
docs/protocol.md ([online](https://github.com/collabcode/collabcode/tree/main/docs/protocol.md))."""


def _short_names(refs: Any, defs: dict[str, Schema]) -> tuple[Any, dict[str, Schema]]:
    """Pydantic names two models of the same name by module (``collabcode__auth__schemas__X``);
    call them ``AuthX`` and ``SocialX`` instead, references included."""
    renames = {}
    for name in defs:
        if "__" in name:
            parts = name.split("__")
            renames[name] = parts[1].title() + parts[-1]
    if not renames:
        return refs, defs
    text = json.dumps([list(refs.items()), defs], default=str)
    for old, new in renames.items():
        text = text.replace(f'"{REF_PREFIX}{old}"', f'"{REF_PREFIX}{new}"')
    items, renamed = json.loads(text)
    keys = list(refs)
    return (
        {key: value for key, (_, value) in zip(keys, items, strict=True)},
        {renames.get(name, name): schema for name, schema in renamed.items()},
    )


def build_document(app_or_routes: Starlette | Iterable[BaseRoute], operations: Iterable[Operation]) -> Schema:
    """The OpenAPI 3.1 document of the operations whose route the app serves."""
    served = {(method, path) for method, path, _ in http_routes(app_or_routes)}
    ops = [op for op in operations if op.key in served]
    models = _models(ops)
    refs, defs = models_json_schema([(model, "validation") for model in models], ref_template=REF_PREFIX + "{model}")
    refs, defs = _short_names(refs, defs.get("$defs", {}))
    body_schemas = {model: refs[(model, "validation")] for model in models}
    paths: dict[str, dict[str, Schema]] = {}
    for op in ops:
        paths.setdefault(path_template(op.path), {})[op.method.lower()] = _operation(op, body_schemas)
    tags = sorted({op.tag for op in ops})
    used: set[str] = set()
    _referenced(paths, used)
    shared = {name: COMPONENTS[name] for name in sorted(used) if name in COMPONENTS}
    clash = set(shared) & set(defs)
    if clash:
        raise ValueError(f"response components and request models share names: {sorted(clash)}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "collabcode", "version": __version__, "description": DESCRIPTION},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **shared, **defs},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An access token from `POST /api/auth/login` or `POST /api/auth/refresh`.",
                }
            },
        },
    }


# -- serving ---------------------------------------------------------------------------------


def document_for(app: Starlette) -> bytes:
    """The app's document as JSON bytes, built once per app."""
    cached = getattr(app.state, "openapi_document", None)
    if cached is None:
        from collabcode.web.api_operations import OPERATIONS

        cached = json.dumps(build_document(app, OPERATIONS), separators=(",", ":")).encode("utf-8")
        app.state.openapi_document = cached
    return bytes(cached)


async def serve_document(request: Request) -> Response:
    """``GET /api/openapi.json``: public, so tools can read it before anyone signs in."""
    return Response(document_for(request.app), media_type="application/json", headers={"cache-control": "no-cache"})


route = Route(OPENAPI_PATH, serve_document, methods=["GET"])


# -- the readable summary (docs/openapi.md) ---------------------------------------------------


def _resolve(schema: Schema, document: Schema) -> Schema:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        resolved: Schema = document["components"]["schemas"][ref.removeprefix(REF_PREFIX)]
        return resolved
    return schema


def _body_fields(operation: Schema, document: Schema) -> str:
    body = operation.get("requestBody")
    if not body:
        return ""
    content = body["content"]
    if "application/json" not in content:
        return ", ".join(f"`{media}`" for media in content)
    schema = _resolve(content["application/json"]["schema"], document)
    required = set(schema.get("required", []))
    names = [name if name in required else f"{name}?" for name in schema.get("properties", {})]
    text = ", ".join(f"`{name}`" for name in names) or "`{}`"
    return text if body.get("required", True) else f"{text} (optional body)"


def _success(operation: Schema) -> str:
    return ", ".join(status for status in operation["responses"] if int(status) < 400)


def _errors(operation: Schema) -> str:
    """Each error status with the machine codes its description names (`` `code` ``)."""
    cells = []
    for status, reply in operation["responses"].items():
        if int(status) < 400:
            continue
        codes = dict.fromkeys(re.findall(r"`([a-z][a-z0-9_*]*)`", reply["description"]))
        cells.append(f"{status} " + "/".join(codes) if codes else status)
    return ", ".join(cells)


def markdown(document: Schema) -> str:
    """docs/openapi.md: one table per tag, generated from the document."""
    lines = [
        "# OpenAPI summary",
        "",
        "Generated from the OpenAPI document served at `GET /api/openapi.json` by",
        "`python -m collabcode.web.openapi --markdown > docs/openapi.md`; a test keeps it current.",
        "The rules behind each answer are in [api.md](api.md). Auth: `public` needs nothing, `optional`",
        "uses a Bearer access token when one is sent, `user` needs one, `admin` an administrator's.",
        "Body fields marked `?` are optional. Every error has the body described in api.md, Errors.",
        "Not listed: the app's pages (`/`, `/signin`, `/w/{workspace_id}` ...) and `/static/` files,",
        "which serve the web app rather than the API, and the WebSocket endpoints, described in",
        "[protocol.md](protocol.md).",
        "",
    ]
    for tag in [t["name"] for t in document["tags"]]:
        lines += [
            f"## {tag}",
            "",
            "| method | path | summary | auth | body | success | errors (status and codes) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                if operation["tags"][0] != tag:
                    continue
                cells = [
                    method.upper(),
                    f"`{path}`",
                    operation["summary"],
                    operation["x-auth"],
                    _body_fields(operation, document),
                    _success(operation),
                    _errors(operation),
                ]
                lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def default_document() -> Schema:
    """The document of an app with every built-in feature (no I/O: the app is not started)."""
    from collabcode.app import create_app
    from collabcode.settings import Settings
    from collabcode.web.api_operations import OPERATIONS

    return build_document(create_app(Settings()), OPERATIONS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the OpenAPI document or its Markdown summary.")
    parser.add_argument("--markdown", action="store_true", help="print docs/openapi.md")
    args = parser.parse_args(argv)
    document = default_document()
    sys.stdout.write(markdown(document) if args.markdown else json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    # Run the imported module's main: the api_doc modules register components there, not in __main__.
    from collabcode.web.openapi import main as module_main

    raise SystemExit(module_main())

"""The OpenAPI 3.1 document of the partner contract, built from the operation table and the pydantic message
types, so it cannot drift from what the adapters send or the simulator answers. The callbacks' bodies belong to
the API, which passes them in as `Webhook`s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from partners.contract.routes import IDEMPOTENCY_KEY, KEY_PATTERN, OPERATIONS, SIGNATURE_HEADER, Operation

PROBLEM_JSON = "application/problem+json"
VERSION = "1.0.0"

DESCRIPTION = f"""What each partner role receives from us and what it sends back: host-country exit permit
authorities, travel document issuers, medical partners, orientation partners and travel partners.

**Requests we send** (`paths`). We authenticate with the credential you issued us (`Authorization: Bearer`).
Every side-effecting request carries `{IDEMPOTENCY_KEY}`: answer a repeated key with the first answer, without
acting again (we resend after timeouts and dropped connections). Personal data travels only in bodies; URLs carry
your own references. Status reads take `as_of` (the moment the question is about).

**Errors** are RFC 9457 problem documents (`{PROBLEM_JSON}`) with a machine `code`:
- `422` a business rejection (no seats, no session, request refused): we do not retry it as is, and show your
  `detail` to the coordinator. `400` a malformed request: also final.
- `429` and `503` with `Retry-After` (seconds): we retry after that delay. Any other `5xx`, a timeout or a dropped
  connection: we retry with backoff and the same `{IDEMPOTENCY_KEY}`.

**Callbacks you send** (`webhooks`), to our API: get a token with `POST /auth/token`
(`grant_type=client_credentials`, HTTP Basic with the client id and secret we issued you), and sign each body:
`{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`. We refuse (401) a
missing or wrong signature, or a timestamp more than five minutes from our clock. A repeated callback is
accepted and changes nothing; a callback may arrive before your answer to the request reached us, if it names
our `case_id`.
"""


@dataclass(frozen=True)
class Webhook:
    name: str
    path: str  # on our API, e.g. /callbacks/exit-permits/{reference}
    role: str  # the partner role that sends it
    body: type[BaseModel]
    receipt: type[BaseModel]
    summary: str


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["title", "status"],
        "properties": {
            "type": {"type": "string", "default": "about:blank"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "shown to people; never personal data"},
            "code": {"type": "string", "description": "machine reason: no_seats, unknown_reference, ..."},
            "retryable": {"type": "boolean"},
        },
    }


def _problem(description: str, retry_after: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if retry_after:
        entry["headers"] = {"Retry-After": {"description": "seconds to wait before retrying",
                                            "schema": {"type": "integer", "minimum": 0}}}
    return entry


ERRORS = {
    "400": _problem("malformed request (final)"),
    "401": _problem("missing or wrong credential"),
    "429": _problem("too many requests: retry after Retry-After", retry_after=True),
    "503": _problem("temporarily unavailable: retry after Retry-After", retry_after=True),
}


def _schemas(models: list[tuple[type[BaseModel], str]]) -> tuple[dict[Any, Any], dict[str, Any]]:
    refs, document = models_json_schema(
        [(model, mode) for model, mode in models],  # type: ignore[misc]
        ref_template="#/components/schemas/{model}",
    )
    return refs, document.get("$defs", {})


def _operation(op: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    if op.path_parameter:
        parameters.append({"name": op.path_parameter, "in": "path", "required": True,
                           "description": "your own reference, as you answered it",
                           "schema": {"type": "string", "pattern": KEY_PATTERN}})
    if not op.side_effect:
        parameters.append({"name": "as_of", "in": "query", "required": True,
                           "description": "the moment the question is about (ISO 8601)",
                           "schema": {"type": "string", "format": "date-time"}})
    else:
        parameters.append({"name": IDEMPOTENCY_KEY, "in": "header", "required": True,
                           "description": "a repeat of this key gets the first answer, and nothing is done twice",
                           "schema": {"type": "string", "pattern": KEY_PATTERN}})
    responses: dict[str, Any] = {}
    if op.response is None:
        responses[str(op.status)] = {"description": "done (or already done)"}
    else:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
        }
    responses.update(ERRORS)
    responses["422"] = _problem("business rejection: final, `code` and `detail` say why")
    entry: dict[str, Any] = {
        "operationId": op.operation_id,
        "tags": [op.role],
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if op.request is not None:
        entry["requestBody"] = {"required": True,
                                "content": {"application/json": {"schema": refs[(op.request, "validation")]}}}
    return entry


def _webhook(hook: Webhook, refs: dict[Any, Any]) -> dict[str, Any]:
    parameter = hook.path.split("{", 1)[1].split("}", 1)[0]
    return {"post": {
        "operationId": f"callback.{hook.name}",
        "tags": [hook.role],
        "summary": hook.summary,
        "description": f"`POST <our API>{hook.path}`, sent by the {hook.role} partner.",
        "x-path": hook.path,
        "security": [{"ourToken": []}],
        "parameters": [
            {"name": parameter, "in": "path", "required": True, "schema": {"type": "string", "pattern": KEY_PATTERN},
             "description": "your reference for our request"},
            {"name": SIGNATURE_HEADER, "in": "header", "required": True,
             "schema": {"type": "string", "pattern": r"^t=\d+(,v1=[0-9a-f]{64})+$"},
             "description": 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>'},
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": refs[(hook.body, "validation")]}}},
        "responses": {
            "202": {"description": "accepted (a repeat: accepted, nothing changes)",
                    "content": {"application/json": {"schema": refs[(hook.receipt, "serialization")]}}},
            "401": _problem("missing, wrong or stale signature or token: nothing was recorded"),
            "404": _problem("no request of ours carries this reference (and no case_id was named)"),
            "422": _problem("the callback is incomplete"),
            "429": _problem("too many callbacks: retry after Retry-After", retry_after=True),
        },
    }}


def build_contract(webhooks: list[Webhook]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = []
    for op in OPERATIONS:
        if op.request is not None:
            models.append((op.request, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    for hook in webhooks:
        models += [(hook.body, "validation"), (hook.receipt, "serialization")]
    refs, schemas = _schemas(list(dict.fromkeys(models)))
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pre-departure partner contract", "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "{partner}", "description": "your service's base URL, as registered with us",
                     "variables": {"partner": {"default": "https://partner.example.org/v1"}}}],
        "security": [{"partnerCredential": []}],
        "tags": [{"name": role} for role in dict.fromkeys(op.role for op in OPERATIONS)],
        "paths": paths,
        "webhooks": {hook.name: _webhook(hook, refs) for hook in webhooks},
        "components": {
            "schemas": {**schemas, "Problem": _problem_schema()},
            "securitySchemes": {
                "partnerCredential": {"type": "http", "scheme": "bearer",
                                      "description": "the credential your organisation issued us"},
                "ourToken": {"type": "oauth2", "description": "client credentials we issued you",
                             "flows": {"clientCredentials": {"tokenUrl": "/auth/token",
                                                             "scopes": {"callbacks:write": "send callbacks"}}}},
            },
        },
    }

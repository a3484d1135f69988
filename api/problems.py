"""RFC 9457 problem details for every error. Never a stack trace, never personal data: messages name the field
that is wrong and the rule it broke, not the value that was sent."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("predeparture.api")

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


WHY = {
    401: "no valid bearer token",
    403: "the token lacks the scope or role this route needs",
    404: "no such object for your organisation (another organisation's ids are not confirmed)",
    409: "the object is not in a state that allows this",
    413: "the request body is larger than the API accepts",
    422: "a field is invalid; `errors` names each one",
    429: "too many requests from this caller; retry after the `Retry-After` seconds",
    503: "a service this route needs did not answer; retry after the `Retry-After` seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


def problem_responses(*statuses: int, why: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as an RFC 9457 problem (application/problem+json), so
    clients and schema-driven tests know every status a route may answer with. `why` overrides the reasons."""
    reasons = {**WHY, **(why or {})}
    documented: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        entry: dict[str, Any] = {
            "model": Problem,  # puts the Problem schema among the components
            "description": f"{TITLES.get(status, 'Error')}: {reasons.get(status, '')}".rstrip(": "),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status in (429, 503):
            entry["headers"] = RETRY_AFTER
        documented[status] = entry
    return documented


class FieldError(BaseModel):
    field: str = Field(description="where in the request: body.people.0.date_of_birth, query.expiring_within_days")
    message: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, errors: list[FieldError] | None = None,
                 type_: str = "about:blank", headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or TITLES.get(status, "Error"))
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.type = type_
        self.headers = headers or {}


def problem_response(request: Request, status: int, detail: str | None = None, *,
                     errors: list[FieldError] | None = None, type_: str = "about:blank",
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(type=type_, title=TITLES.get(status, "Error"), status=status, detail=detail,
                   instance=request.url.path, errors=errors or [])
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON,
                        headers=headers)


def field_errors(exc: RequestValidationError) -> list[FieldError]:
    """Pydantic's messages can quote the input back; keep the location and the rule, drop the value."""
    out = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        out.append(FieldError(field=location, message=message))
    return out


# Answered for any route that takes a body, before the route is reached: by the body parser (bytes that are not
# UTF-8, a form it cannot read) and by the size limit (api.limits).
BODY_PROBLEMS = {
    400: "the body could not be read: not UTF-8, or not the media type it was sent as",
    413: "the request body is larger than the API accepts",
}


def document_body_problems(app: FastAPI) -> None:
    """Adds BODY_PROBLEMS to every operation with a request body in the OpenAPI document, so that no route can
    forget to document what it cannot prevent."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if "requestBody" not in operation:
                    continue
                for status, why in BODY_PROBLEMS.items():
                    operation["responses"].setdefault(str(status), {
                        "description": f"{TITLES[status]}: {why}",
                        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    })
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    document_body_problems(app)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, errors=exc.errors, type_=exc.type,
                                headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        return problem_response(request, 422, f"{len(errors)} field(s) are invalid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The type name only: an exception's message may quote personal data.
        logger.error("unhandled error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(request, 500, "an unexpected error occurred; it has been logged")

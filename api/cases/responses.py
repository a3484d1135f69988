"""OpenAPI documentation of the problem documents a route can answer with, so clients (and schema-driven tests)
know every status a route may return and what its body looks like."""

from __future__ import annotations

from typing import Any

from api.problems import PROBLEM_JSON, TITLES, Problem

WHY = {
    401: "no valid bearer token",
    403: "the token lacks the scope or role this route needs",
    404: "no such object for your organisation (another organisation's ids are not confirmed)",
    409: "the object is not in a state that allows this",
    413: "the request body is larger than the API accepts",
    422: "a field is invalid; `errors` names each one",
    429: "too many requests from this caller; retry after the `Retry-After` seconds",
    503: "the workflow service did not answer in time; retry",
}

AUTHENTICATED = (401, 403, 422)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as an RFC 9457 problem (application/problem+json)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*AUTHENTICATED, *statuses}):
        entry: dict[str, Any] = {
            "model": Problem,
            "description": f"{TITLES.get(status, 'Error')}: {WHY.get(status, '')}".rstrip(": "),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status == 429:
            entry["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
        documented[status] = entry
    return documented

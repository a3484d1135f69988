"""The problem documents the coordinator's routes can answer with."""

from __future__ import annotations

from typing import Any

from api.problems import problem_responses

AUTHENTICATED = (401, 403, 422)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Every authenticated route can answer 401, 403 and 422; add the statuses the route adds."""
    return problem_responses(*AUTHENTICATED, *statuses)

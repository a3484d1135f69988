"""One pooled connection to one partner organisation, and what its answers mean for a retry.

Retryable (`PartnerUnavailable`): timeouts, refused or dropped connections, 5xx, 408, 429, and a 401/403 (our
credential is wrong or rotated: an operator fixes it, the request itself is fine). 429 and 503 carry
`Retry-After`, which Temporal honours as the next retry's delay. Final (`PartnerRejected`): any other 4xx, with
the partner's `code` and `detail`; the partner did not act and asking again the same way gets the same no."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from partners.contract.routes import IDEMPOTENCY_KEY, Operation
from partners.errors import PartnerRejected, PartnerUnavailable
from predeparture.settings import PartnerEndpoint

RETRY_STATUSES = frozenset({408, 429})
CREDENTIAL_STATUSES = frozenset({401, 403})


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds (RFC 9110: delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class PartnerHttpClient:
    def __init__(self, role: str, endpoint: PartnerEndpoint, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.role = role
        self.endpoint = endpoint
        self._http = httpx.AsyncClient(
            base_url=endpoint.base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {endpoint.api_key.get_secret_value()}",
                     "Accept": "application/json, application/problem+json"},
            timeout=httpx.Timeout(endpoint.timeout_seconds, connect=endpoint.connect_timeout_seconds),
            limits=httpx.Limits(max_connections=endpoint.max_connections,
                                max_keepalive_connections=endpoint.max_connections),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, op: Operation, *, body: BaseModel | None = None, key: str | None = None,
                   reference: str | None = None, as_of: datetime | None = None) -> Any:
        """The answer's JSON (None for 204), or PartnerUnavailable / PartnerRejected."""
        if op.side_effect and not key:
            raise ValueError(f"{op.operation_id} changes the partner's state and needs an idempotency key")
        headers = {IDEMPOTENCY_KEY: key} if key else {}
        params = {"as_of": as_of.isoformat()} if as_of is not None else None
        # The reference is the partner's own; quoted whole, so it can never reach another path.
        url = op.url(quote(reference, safe="")) if op.path_parameter else op.path
        payload = body.model_dump(mode="json") if body is not None else None
        try:
            response = await self._http.request(op.method, url, json=payload, headers=headers, params=params)
        except httpx.TimeoutException as timeout:
            raise PartnerUnavailable(self.role, f"{op.name}: timed out ({type(timeout).__name__})") from timeout
        except httpx.TransportError as failure:
            raise PartnerUnavailable(self.role, f"{op.name}: connection failed ({type(failure).__name__})") from failure
        return self._answer(op, response)

    def _answer(self, op: Operation, response: httpx.Response) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError as error:
                raise PartnerUnavailable(self.role, f"{op.name}: answer is not JSON") from error
        problem = _problem(response)
        if status >= 500 or status in RETRY_STATUSES:
            raise PartnerUnavailable(self.role, f"{op.name}: HTTP {status}",
                                     retry_after_seconds(response.headers.get("Retry-After")))
        if status in CREDENTIAL_STATUSES:
            raise PartnerUnavailable(self.role, f"{op.name}: our credential was refused (HTTP {status})")
        code = str(problem.get("code") or f"http_{status}")
        reason = str(problem.get("detail") or problem.get("title") or f"refused with HTTP {status}")
        raise PartnerRejected(self.role, code, reason)

"""The simulator service's callbacks: decisions that fell due, pushed to our API as a partner would, with a
client-credentials token and the partner's HMAC signature, and duplicated or reordered when the faults say so.
A callback the API could not take (unreachable, 5xx, 429) is kept and sent again next round."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import httpx

from partners.contract.routes import SIGNATURE_HEADER
from partners.contract.signature import sign
from partners.simulators import CallbackDue
from predeparture.partners_sim_faults import FaultState

log = logging.getLogger(__name__)

CALLBACK_PATHS = {"exit_permits": "/callbacks/exit-permits/{}", "travel_documents": "/callbacks/travel-documents/{}"}


@dataclass(frozen=True)
class CallbackClient:
    """How one partner role reaches our API: the client credentials we issued it and its signing secret."""

    client_id: str
    client_secret: str
    signing_secret: str


@dataclass(frozen=True)
class Outgoing:
    role: str
    due: CallbackDue


class CallbackSender:
    def __init__(self, api_url: str, clients: dict[str, CallbackClient], faults: FaultState,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=10, transport=transport)
        self._clients = clients
        self._faults = faults
        self._tokens: dict[str, str] = {}
        self._retry: list[Outgoing] = []
        self.sent: list[tuple[str, str, str]] = []  # (role, reference, status) in the order the API got them
        self.refused: list[tuple[str, str, int]] = []

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, due: list[Outgoing]) -> None:
        batch = self._retry + [item for item in due if item.role in self._clients]
        self._retry = []
        if any(self._faults.applies(item.role) for item in batch) and self._faults.faults.reorder_callbacks:
            batch.reverse()
            for item in batch:
                self._faults.count("callback_reordered", item.role)
        for item in batch:
            copies = 2 if self._faults.applies(item.role) and self._faults.draw(
                self._faults.faults.duplicate_callback_rate) else 1
            if copies == 2:
                self._faults.count("callback_duplicated", item.role)
            for _ in range(copies):
                if not await self._post(item):
                    self._retry.append(item)
                    break

    async def _post(self, item: Outgoing) -> bool:
        """False: try again next round."""
        decision = item.due.decision
        body = json.dumps({
            "status": decision.status.value, "valid_from": decision.valid_from and decision.valid_from.isoformat(),
            "valid_until": decision.valid_until and decision.valid_until.isoformat(),
            "document_number": decision.document_number, "reason": decision.reason, "case_id": item.due.case_id,
        }).encode()
        client = self._clients[item.role]
        try:
            token = await self._token(item.role)
            response = await self._http.post(
                CALLBACK_PATHS[item.role].format(item.due.reference), content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                         SIGNATURE_HEADER: sign(client.signing_secret, body)})
        except httpx.HTTPError as error:
            log.warning("callback %s not sent: %s", item.due.reference, type(error).__name__)
            return False
        if response.status_code == 401:
            self._tokens.pop(item.role, None)  # expired token: a new one next round
        if response.status_code >= 500 or response.status_code in (401, 429):
            return False
        if response.status_code >= 400:
            self.refused.append((item.role, item.due.reference, response.status_code))
            log.warning("callback %s refused with %s", item.due.reference, response.status_code)
            return True
        self.sent.append((item.role, item.due.reference, decision.status.value))
        return True

    async def _token(self, role: str) -> str:
        if role not in self._tokens:
            client = self._clients[role]
            response = await self._http.post("/auth/token", data={"grant_type": "client_credentials"},
                                             auth=(client.client_id, client.client_secret))
            response.raise_for_status()
            self._tokens[role] = response.json()["access_token"]
        return self._tokens[role]


def collect(partners: dict[str, object], as_of: datetime) -> list[Outgoing]:
    due: list[Outgoing] = []
    for role, partner in partners.items():
        source = getattr(partner, "due_callbacks", None)
        if source is not None:
            due += [Outgoing(role, item) for item in source(as_of)]
    return due

"""A reception team's own webhook endpoint: where the movements post its manifests, and the secret they sign with.
The secret is sealed by the store and never read back out through the API."""

from __future__ import annotations

from datetime import UTC, datetime

from api.audit import service as audit
from api.context import ApiContext
from api.movements import repository
from api.movements.schemas import WebhookBody, WebhookView
from api.principal import Principal
from domain.webhooks import ReceptionEndpoint


async def read(context: ApiContext, principal: Principal) -> WebhookView:
    stored = await repository.endpoint(context, principal.org_id)
    if stored is None:
        return WebhookView(url=None, secret_set=False, active=False, updated_at=None)
    return WebhookView(url=stored.url, secret_set=stored.secret_set, active=stored.active,
                       updated_at=stored.updated_at)


async def replace(context: ApiContext, principal: Principal, body: WebhookBody) -> WebhookView:
    """Deliveries still to come go to the new URL, signed with the new secret."""
    endpoint = ReceptionEndpoint(organisation_id=principal.org_id, url=body.url,
                                 secret=body.secret.get_secret_value().encode())  # type: ignore[arg-type]
    await context.webhooks().set_endpoint(endpoint, datetime.now(UTC))
    # The URL is an organisation's address, not a person's; the secret goes nowhere near the audit log.
    await audit.record(context, principal, "reception.webhook_set", "organisation", principal.org_id)
    return await read(context, principal)

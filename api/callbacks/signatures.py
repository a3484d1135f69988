"""The partners' callback signatures (see partners/contract/signature.py). A role whose endpoint has a
`callback_secret` in the settings must sign every callback; a bad, missing or stale signature is refused with
401 before anything is looked up or recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.deps import Context, require
from api.principal import Principal, Role, Scope
from api.problems import FieldError, ProblemError
from partners.contract.routes import SIGNATURE_HEADER
from partners.contract.signature import SignatureRefused, verify

# Which partner endpoint of the settings speaks for each partner role of the API.
NETWORK_ROLE = {
    Role.EXIT_PERMIT_AUTHORITY: "exit_permits",
    Role.TRAVEL_DOCUMENT_ISSUER: "travel_documents",
    Role.ORIENTATION_PARTNER: "orientation",
    Role.TRAVEL_PARTNER: "travel",
}


async def signed_by_partner(request: Request, context: Context,
                            principal: Annotated[Principal, Depends(require(Scope.CALLBACKS_WRITE))]) -> Principal:
    network = context.settings.partner_network
    endpoint = getattr(network, NETWORK_ROLE.get(principal.role, ""), None)
    secret = endpoint.callback_secret if endpoint is not None else None
    if secret is None:
        return principal
    try:
        verify(secret.get_secret_value(), request.headers.get(SIGNATURE_HEADER), await request.body(),
               network.callback_max_skew.total_seconds())
    except SignatureRefused as refused:
        raise ProblemError(401, f"callback signature refused: {refused}", errors=[
            FieldError(field=f"header.{SIGNATURE_HEADER}", message=str(refused))]) from None
    return principal

"""The network path to partners, on one machine: `predeparture partners-sim` serves the partner side of the
published contract, and `predeparture dev --partners-over-http` points the embedded worker at it, so every
partner call crosses HTTP (timeouts, retries, idempotency keys, signed callbacks) exactly as in production."""

from __future__ import annotations

import secrets

from pydantic import SecretStr

from api.auth.seed import SYSTEMS
from api.callbacks.signatures import NETWORK_ROLE
from predeparture.partners_sim import PartnerSimConfig
from predeparture.partners_sim_callbacks import CALLBACK_PATHS, CallbackClient
from predeparture.settings import (
    AdapterKind,
    PartnerAdapters,
    PartnerCallbackClient,
    PartnerEndpoint,
    PartnerNetwork,
    Settings,
)

ROLES = tuple(PartnerAdapters.model_fields)


def sim_config(settings: Settings) -> PartnerSimConfig:
    """The simulator service as the settings describe the partners: it accepts the credential our adapters present
    for each role (`partner_network.<role>.api_key`), and calls our API back with the client credentials we issued
    each partner (`partners_sim.callback_clients`), signing with that role's `callback_secret`."""
    network = settings.partner_network
    keys = {role: endpoint.api_key.get_secret_value()
            for role in ROLES if (endpoint := getattr(network, role)) is not None}
    clients = {}
    for role, client in settings.partners_sim.callback_clients.items():
        endpoint = getattr(network, role, None)
        secret = endpoint.callback_secret if endpoint is not None else None
        clients[role] = CallbackClient(client.client_id, client.client_secret.get_secret_value(),
                                       secret.get_secret_value() if secret is not None else "")
    admin = settings.partners_sim.admin_token
    return PartnerSimConfig(simulator=settings.simulator, api_keys=keys, callback_api_url=settings.partners_sim.api_url,
                            callback_clients=clients, admin_token=admin.get_secret_value() if admin else None)


def over_http(settings: Settings, sim_url: str, api_url: str) -> Settings:
    """Settings for an embedded stack whose every partner is the simulator service at `sim_url`: fresh credentials
    and signing secrets for this run (so the API refuses unsigned callbacks, as production does), and the demo
    partner systems' client credentials (api/auth/seed.py) for the callbacks to `api_url`."""
    network = PartnerNetwork(callback_max_skew=settings.partner_network.callback_max_skew, **{
        role: PartnerEndpoint(organisation_id=f"org_demo_{role}", base_url=sim_url,
                              api_key=SecretStr(secrets.token_urlsafe(24)),
                              callback_secret=SecretStr(secrets.token_urlsafe(24)))
        for role in ROLES})
    by_role = {NETWORK_ROLE[system.role]: system for system in SYSTEMS if system.role in NETWORK_ROLE}
    clients = {role: PartnerCallbackClient(client_id=by_role[role].client_id,
                                           client_secret=SecretStr(by_role[role].secret))
               for role in CALLBACK_PATHS}
    return settings.model_copy(update={
        "partners": PartnerAdapters(**{role: AdapterKind.HTTP for role in ROLES}),
        "partner_network": network,
        "partners_sim": settings.partners_sim.model_copy(update={"api_url": api_url, "callback_clients": clients}),
    })

"""Builds the partner set a worker uses: per role, the adapter the settings name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from partners.base import (
    ExitPermitAuthority,
    MedicalPartner,
    OrientationPartner,
    TravelDocumentIssuer,
    TravelPartner,
)
from partners.simulators import (
    CallbackDue,
    FaultPlan,
    SimulatedExitPermitAuthority,
    SimulatedMedicalPartner,
    SimulatedOrientationPartner,
    SimulatedTravelDocumentIssuer,
    SimulatedTravelPartner,
)
from predeparture.settings import AdapterKind, PartnerAdapters, PartnerNetwork, SimulatorSettings


@runtime_checkable
class CallbackSource(Protocol):
    """A partner that calls us back when its decision is made (simulators; webhooks for real adapters)."""

    def due_callbacks(self, as_of: datetime) -> list[CallbackDue]: ...


@dataclass
class PartnerSet:
    exit_permits: ExitPermitAuthority
    travel_documents: TravelDocumentIssuer
    medical: MedicalPartner
    orientation: OrientationPartner
    travel: TravelPartner
    faults: FaultPlan  # shared by the simulators above; real adapters ignore it

    def callback_sources(self) -> list[CallbackSource]:
        roles = (self.exit_permits, self.travel_documents, self.medical, self.orientation, self.travel)
        return [partner for partner in roles if isinstance(partner, CallbackSource)]

    async def aclose(self) -> None:
        """Closes the network adapters' connection pools; simulators hold none."""
        for partner in (self.exit_permits, self.travel_documents, self.medical, self.orientation, self.travel):
            close = getattr(partner, "aclose", None)
            if close is not None:
                await close()


_SIMULATORS: dict[str, Callable[[SimulatorSettings, FaultPlan], Any]] = {
    "exit_permits": SimulatedExitPermitAuthority,
    "travel_documents": SimulatedTravelDocumentIssuer,
    "medical": SimulatedMedicalPartner,
    "orientation": SimulatedOrientationPartner,
    "travel": SimulatedTravelPartner,
}


def build_partners(adapters: PartnerAdapters, simulator: SimulatorSettings,
                   network: PartnerNetwork | None = None) -> PartnerSet:
    """One FaultPlan is shared by every simulator of the set, so a test scripts failures in one place. A role
    whose adapter is "http" talks to the partner organisation `network` names for it."""
    faults = FaultPlan()
    chosen = {role: _build(role, getattr(adapters, role), simulator, faults, network) for role in _SIMULATORS}
    return PartnerSet(**chosen, faults=faults)


def _build(role: str, kind: AdapterKind, simulator: SimulatorSettings, faults: FaultPlan,
           network: PartnerNetwork | None) -> Any:
    if kind is AdapterKind.SIMULATOR:
        return _SIMULATORS[role](simulator, faults)
    if kind is AdapterKind.HTTP:
        from partners.http.adapters import ADAPTERS  # httpx only where a partner is reached over the network
        from partners.http.client import PartnerHttpClient

        endpoint = getattr(network, role, None) if network is not None else None
        if endpoint is None:
            raise ValueError(f"the {role} partner is set to 'http' but PREDEPARTURE_PARTNER_NETWORK__{role.upper()} "
                             "names no endpoint")
        return ADAPTERS[role](PartnerHttpClient(role, endpoint))
    raise ValueError(f"no {kind} adapter for the {role} partner")

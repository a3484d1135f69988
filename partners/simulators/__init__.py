"""Simulated partners that behave like the real ones (latency, transient failures, idempotency keys, slow
decisions, sold-out dates) and give the same answers for the same seed and requests in every process."""

from partners.simulators.clinician import SimulatedClinician
from partners.simulators.decisions import CallbackDue
from partners.simulators.exit_permits import SimulatedExitPermitAuthority
from partners.simulators.faults import OPERATIONS, FaultPlan
from partners.simulators.medical import SimulatedMedicalPartner
from partners.simulators.orientation import SimulatedOrientationPartner
from partners.simulators.travel import SimulatedTravelPartner
from partners.simulators.travel_documents import SimulatedTravelDocumentIssuer

__all__ = [
    "OPERATIONS",
    "CallbackDue",
    "FaultPlan",
    "SimulatedClinician",
    "SimulatedExitPermitAuthority",
    "SimulatedMedicalPartner",
    "SimulatedOrientationPartner",
    "SimulatedTravelDocumentIssuer",
    "SimulatedTravelPartner",
]

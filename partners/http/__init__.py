"""Partner adapters over the network: the published contract (partners/contract) spoken with httpx."""

from partners.http.adapters import (
    HttpExitPermitAuthority,
    HttpMedicalPartner,
    HttpOrientationPartner,
    HttpTravelDocumentIssuer,
    HttpTravelPartner,
)
from partners.http.client import PartnerHttpClient

__all__ = [
    "HttpExitPermitAuthority",
    "HttpMedicalPartner",
    "HttpOrientationPartner",
    "HttpTravelDocumentIssuer",
    "HttpTravelPartner",
    "PartnerHttpClient",
]

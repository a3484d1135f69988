"""Reception teams' acknowledgements of the manifest versions they were sent: one row per organisation and version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import ID, Base


class ManifestAcknowledgementRow(Base):
    """The first acknowledgement of a version stands: a second click, or a colleague's, changes nothing."""

    __tablename__ = "manifest_acknowledgements"

    movement_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_reference: Mapped[str] = mapped_column(String(ID), doc="the manifest version acknowledged")
    acknowledged_by: Mapped[str] = mapped_column(String(128), doc="<org>/<subject>: opaque ids, never a name")
    acknowledged_at: Mapped[datetime]

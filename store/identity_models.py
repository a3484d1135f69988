"""Who may call the API: organisations, the people working for them, the partner systems acting for them, and the
access tokens withdrawn before they expire. Only opaque ids and hashes here; no secret is ever stored in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import ID, Base

ROLE = 32  # api.principal.Role values
HASH = 255  # an argon2id hash in PHC form is about 100 characters; room for stronger parameters


def organisation_fk() -> ForeignKey:
    # No cascade: an organisation's accounts are deactivated, never erased with it.
    return ForeignKey("organisations.org_id")


class OrganisationRow(Base):
    """An operating office, a clinic, a reception team or a partner. Its id is the one cases name (office_id,
    medical_partner_id, receiving_organisation), which is how object-level checks tie callers to cases."""

    __tablename__ = "organisations"

    org_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(ROLE))
    country: Mapped[str | None] = mapped_column(String(2), doc="ISO alpha-2, where it works")
    created_at: Mapped[datetime]


class UserRow(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    org_id: Mapped[str] = mapped_column(organisation_fk(), index=True)
    username: Mapped[str] = mapped_column(String(150), unique=True, doc="stored case-folded")
    password_hash: Mapped[str] = mapped_column(String(HASH))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class ApiClientRow(Base):
    """A partner system authenticating with client credentials (OAuth2)."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    org_id: Mapped[str] = mapped_column(organisation_fk(), index=True)
    secret_hash: Mapped[str] = mapped_column(String(HASH))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class RevokedTokenRow(Base):
    """Kept until the token would have expired anyway; the API looks tokens up here by jti."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(ID), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True, doc="after this, the row can go")
    revoked_at: Mapped[datetime]

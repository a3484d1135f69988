"""Persistence of cases, departure progress and the audit trail, on SQLite or PostgreSQL."""

from store.repository import CaseNotFound, Store

__all__ = ["CaseNotFound", "Store"]

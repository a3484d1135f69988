"""INSERT .. ON CONFLICT for SQLite and PostgreSQL behind one call, so retried writes change nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, and_, case, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert

Row = Mapping[str, Any]


def _insert(dialect: Dialect, table: Table, rows: Sequence[Row]) -> postgresql.Insert | sqlite.Insert:
    if dialect.name == "postgresql":
        return postgresql.insert(table).values(list(rows))
    if dialect.name == "sqlite":
        return sqlite.insert(table).values(list(rows))
    raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {dialect.name}")


def upsert(
    dialect: Dialect,
    table: Table,
    rows: Sequence[Row],
    *,
    keys: Sequence[str],
    update: Sequence[str],
    touch: str | None = None,
    not_older: str | None = None,
) -> Insert:
    """Insert `rows`, or overwrite the `update` columns of the row already holding the same `keys`.

    A conflicting row is only rewritten when one of the `update` columns differs, so applying the same rows
    twice leaves them byte for byte as they were; `touch` names a timestamp column that moves only then.
    `not_older` names a column ordering the writes: a row older by it than the stored one (a write retried
    after a newer one landed) leaves the stored row as it is; a newer one always moves it on.
    """
    statement = _insert(dialect, table, rows)
    differs = or_(*(table.c[name].is_distinct_from(statement.excluded[name]) for name in update))
    assignments: dict[str, Any] = {name: statement.excluded[name] for name in update}
    if touch:
        assignments[touch] = case((differs, statement.excluded[touch]), else_=table.c[touch])
    changed = differs
    if not_older is not None:
        stored, incoming = table.c[not_older], statement.excluded[not_older]
        # The ordering column moves on even when nothing else changed, or a later late write would compare
        # itself with a stale mark.
        assignments.setdefault(not_older, func.coalesce(incoming, stored))
        changed = and_(or_(differs, stored.is_distinct_from(incoming)),
                       or_(stored.is_(None), incoming.is_(None), incoming >= stored))
    return statement.on_conflict_do_update(index_elements=list(keys), set_=assignments, where=changed)


def insert_new(dialect: Dialect, table: Table, rows: Sequence[Row], *, keys: Sequence[str]) -> Insert:
    """Insert `rows`, skipping any whose `keys` are already stored."""
    return _insert(dialect, table, rows).on_conflict_do_nothing(index_elements=list(keys))

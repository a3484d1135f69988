"""Activities that read and write the store for a departure. Thin: the store does the work."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.case import Case
from domain.departure import ProgressUpdate
from store.repository import CaseNotFound, Store


class StoreActivities:
    def __init__(self, store: Store) -> None:
        self._store = store

    @activity.defn
    async def load_case(self, case_id: str) -> Case:
        case = await self._store.load_case(case_id)
        if case is None:
            raise ApplicationError(f"case {case_id} not found", type="CaseNotFound", non_retryable=True)
        return case

    @activity.defn
    async def save_progress(self, update: ProgressUpdate) -> None:
        try:
            await self._store.apply_progress(update)
        except CaseNotFound as missing:
            # Retrying cannot make a case appear; the departure has to hear it at once.
            raise ApplicationError(str(missing), type="CaseNotFound", non_retryable=True) from missing

"""The retention run's one activity: anonymise a batch of cases that are due, one transaction per case.

Each case is committed with its audit row before the next is started, and the activity heartbeats after each: a
worker that dies mid-batch loses at most the case it was writing, which the retried activity finds due again."""

from __future__ import annotations

from temporalio import activity

from domain.retention import BatchResult, RetentionBatch
from store.repository import Store
from store.retention import anonymise_case, due_cases


class RetentionActivities:
    def __init__(self, store: Store) -> None:
        self._store = store

    @activity.defn
    async def anonymise_due_cases(self, batch: RetentionBatch) -> BatchResult:
        due = await due_cases(self._store, batch)
        result = BatchResult(more=len(due) == batch.limit)
        for n, case_id in enumerate(due, start=1):
            done = await anonymise_case(self._store, case_id, batch)
            if done is not None:
                result.anonymised.append(done)
            activity.heartbeat(n)  # a count, never a case's data
        return result

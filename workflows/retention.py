"""RetentionWorkflow: started by a Temporal schedule (predeparture.retention_schedule), it anonymises the personal
data of every case whose family arrived longer ago than its destination's retention period, batch by batch, until
none is left. The cutoffs come from the run's own clock, so a replay computes the same ones."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities
    from domain.retention import RetentionInput, RetentionOutcome

RETENTION_WORKFLOW = "RetentionWorkflow"
BATCH_TIMEOUT = timedelta(minutes=10)
# A batch heartbeats after every case, each one short transaction: a minute without one means the worker is gone.
BATCH_HEARTBEAT = timedelta(minutes=1)
# A case that cannot be anonymised fails the run after a few tries, loudly; the next scheduled run tries again.
BATCH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2.0,
                          maximum_interval=timedelta(minutes=5), maximum_attempts=5)


@workflow.defn(name=RETENTION_WORKFLOW)
class RetentionWorkflow:
    @workflow.run
    async def run(self, request: RetentionInput) -> RetentionOutcome:
        batch = request.batch(workflow.now())
        anonymised = request.anonymised_before
        while True:
            result = await workflow.execute_activity_method(
                RetentionActivities.anonymise_due_cases, batch, start_to_close_timeout=BATCH_TIMEOUT,
                heartbeat_timeout=BATCH_HEARTBEAT, retry_policy=BATCH_RETRY)
            anonymised += len(result.anonymised)
            if not result.more:
                return RetentionOutcome(anonymised=anonymised)
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(request.model_copy(update={"anonymised_before": anonymised}))

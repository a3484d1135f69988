"""The yardstick of the departures benchmark: a workflow that does nothing but run activities that do nothing.

It is given the shape a real departure had (how many activities each of its workflow tasks scheduled at once) and
replays it: each batch runs side by side, and the next batch starts when the previous one is back. What is left
after that is Temporal's own cost per activity, which is what a departure's orchestration is measured against."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

# The same timeout and retry as a departure's calls (workflows/base.py), so the server does the same bookkeeping.
STEP_TIMEOUT = timedelta(minutes=2)
STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=10))


@activity.defn
async def bare_step(number: int) -> int:
    return number


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self, batches: list[int]) -> int:
        """Returns how many activities ran, so the caller can check it matches what it asked for."""
        ran = 0
        for size in batches:
            results = await asyncio.gather(*(
                workflow.execute_activity(bare_step, ran + n, start_to_close_timeout=STEP_TIMEOUT,
                                          retry_policy=STEP_RETRY)
                for n in range(size)
            ))
            ran += len(results)
        return ran

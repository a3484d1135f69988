"""The Temporal schedule that runs RetentionWorkflow, kept in line with the settings whenever a worker starts.

Creating it is idempotent: a schedule that exists is updated to the settings (its paused state and its history
stay), so every worker of a deployment can do it at start and the last to start has the say. With retention
switched off the schedule is deleted, and no run is started any more."""

from __future__ import annotations

import dataclasses
import logging

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from domain.retention import RetentionInput
from predeparture.settings import RetentionSettings
from workflows.retention import RetentionWorkflow

SCHEDULE_ID = "personal-data-retention"
WORKFLOW_ID = "personal-data-retention"  # each run gets the schedule's time appended

log = logging.getLogger(__name__)


def retention_input(settings: RetentionSettings) -> RetentionInput:
    return RetentionInput(after_arrival=settings.after_arrival, overrides=settings.overrides,
                          batch_size=settings.batch_size)


def retention_schedule(settings: RetentionSettings, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(RetentionWorkflow.run, retention_input(settings), id=WORKFLOW_ID,
                                           task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.every)]),
        # A run still going when the next is due (a large backlog) is left to finish; the next one is skipped.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_retention_schedule(client: Client, settings: RetentionSettings, task_queue: str) -> None:
    """Create or update the schedule (or delete it when retention is off)."""
    handle = client.get_schedule_handle(SCHEDULE_ID)
    if not settings.enabled:
        try:
            await handle.delete()
            log.info("retention is off: schedule %s deleted", SCHEDULE_ID)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        return
    wanted = retention_schedule(settings, task_queue)
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        log.info("schedule %s created: every %s", SCHEDULE_ID, settings.every)
        return
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        # An operator who paused it (temporal schedule toggle --pause) keeps it paused.
        return ScheduleUpdate(schedule=dataclasses.replace(wanted, state=current.description.schedule.state))

    await handle.update(update)
    log.info("schedule %s updated: every %s", SCHEDULE_ID, settings.every)

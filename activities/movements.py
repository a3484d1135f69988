"""A departure joins its flight's movement when it is booked and leaves it when the booking is given back.

The movement is started by the first family to join (signal-with-start), so no one has to open it beforehand;
every later join is a signal to the same workflow id. Both are safe to repeat: the movement ignores a join or leave
it already has. Names only: the workflow is started and signalled by name, so activities need not import it."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.movement import (
    JOIN_SIGNAL,
    LEAVE_SIGNAL,
    MOVEMENT_WORKFLOW,
    JoinMovement,
    LeaveMovement,
    MovementInput,
    movement_workflow_id,
)

MOVEMENT_CLOSED = "MovementClosed"


class JoinMovementCall(BaseModel):
    """`movement` is used only if this family is the first: a running movement keeps its own."""

    movement: MovementInput
    join: JoinMovement


class LeaveMovementCall(BaseModel):
    movement_id: str
    leave: LeaveMovement


class MovementActivities:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn
    async def join_movement(self, call: JoinMovementCall) -> None:
        """Raises MovementClosed (non-retryable) if the movement has already closed: its flight has flown."""
        try:
            await self._client.start_workflow(
                MOVEMENT_WORKFLOW, call.movement, id=movement_workflow_id(call.movement.movement_id),
                task_queue=self._task_queue, start_signal=JOIN_SIGNAL, start_signal_args=[call.join],
                # A closed movement is not opened again under the same flight: that flight has flown.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            raise ApplicationError(f"movement {call.movement.movement_id} is closed", type=MOVEMENT_CLOSED,
                                   non_retryable=True) from None

    @activity.defn
    async def leave_movement(self, call: LeaveMovementCall) -> None:
        """A movement that no longer runs (closed, or never started) has nobody to take off."""
        handle = self._client.get_workflow_handle(movement_workflow_id(call.movement_id))
        try:
            await handle.signal(LEAVE_SIGNAL, call.leave)
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise

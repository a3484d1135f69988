"""A change to the workflow that would break departures already running (they can live for years) must fail
here, not in production. The history was recorded by tests/record_history.py."""

from __future__ import annotations

import json

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from predeparture.temporal import data_converter
from tests.departure_harness import TEST_KEY
from tests.record_history import HISTORY
from workflows.departure import DepartureWorkflow


async def test_the_recorded_departure_replays_on_todays_workflow_code() -> None:
    raw = HISTORY.read_text()
    event_types = {event["eventType"] for event in json.loads(raw)["events"]}
    # The recording covers the paths most likely to change: updates, a cancelled booking and a replan.
    assert {"EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED", "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"} <= event_types
    history = WorkflowHistory.from_json("departure-recorded", raw)
    replayer = Replayer(workflows=[DepartureWorkflow], data_converter=data_converter("test", TEST_KEY))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_the_recorded_history_holds_no_readable_personal_data() -> None:
    raw = HISTORY.read_text()
    for needle in ("Haidari", "Mariam", "given_name", "tb_class", "findings", "chest x-ray", "no flight with seats"):
        assert needle not in raw

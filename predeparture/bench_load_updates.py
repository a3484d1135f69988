"""The Updates of the `load` section: a clinic's cleared health assessment per traveller, sent straight to Temporal.

`submit_assessment` is accepted while the traveller's appointment is booked, which is where every departure of the
section waits; it records the result and saves it (one store write), nothing more, so its latency is the Update's
round trip through the worker: on a departure the worker has cached, or one it must rebuild from its history.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from temporalio.client import Client

from domain.case import Case
from domain.departure import departure_workflow_id
from domain.medical import AssessmentResult, TbClass
from predeparture import bench_api  # a module, its names read at run time: it imports predeparture.bench
from workflows.departure import DepartureWorkflow


def exam_day() -> date:
    """A minute back, so a result sent just after midnight is not dated after the workflow's own day."""
    return (datetime.now(UTC) - timedelta(minutes=1)).date()


@dataclass
class UpdateRun:
    measured: bench_api.Measurement
    errors: Counter[str] = field(default_factory=Counter)  # exception name -> count


def travellers(cases: list[Case]) -> list[tuple[str, str]]:
    return [(case.case_id, person.person_id) for case in cases for person in case.people]


async def send_assessments(temporal: Client, targets: list[tuple[str, str]], concurrency: int) -> UpdateRun:
    """A cleared assessment for each (case, traveller), by `concurrency` callers taking the next as each returns."""
    pending = iter(targets)
    run = UpdateRun(bench_api.Measurement())
    today = exam_day()

    async def caller() -> None:
        for case_id, person_id in pending:
            handle = temporal.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))
            result = AssessmentResult(person_id=person_id, exam_date=today, tb_class=TbClass.NONE,
                                      examined_by="physician_bench")
            began = time.perf_counter()
            try:
                await handle.execute_update(DepartureWorkflow.submit_assessment, result)
            except Exception as error:  # noqa: BLE001 - every failure is counted, by kind, and reported
                run.errors[type(error).__name__] += 1
            run.measured.seconds.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(min(concurrency, len(targets)))))
    run.measured.wall = time.perf_counter() - began
    return run

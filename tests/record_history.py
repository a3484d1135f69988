"""Records the departure history the replay test checks against. Run it only when a change to the workflow is
meant to be incompatible with running departures (and then version the workflow instead, if any are running):

    .venv/bin/python -m tests.record_history
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from domain.medical import TbClass
from domain.policy import DestinationPolicy
from tests.departure_harness import open_world, quiet_simulator
from tests.factories import family

HISTORY = Path(__file__).parent / "histories" / "departure_b1_unfit_replanned.json"
SIMULATOR = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                            document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))


async def record() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with open_world(f"sqlite+aiosqlite:///{tmp}/store.db", "record-history", SIMULATOR) as world:
            case = family(await world.today(), children=1)
            drive = await world.start(case, policy=DestinationPolicy(b1_screening_within_days=21))
            principal, child = case.principal.person_id, case.people[2].person_id
            await drive.assess_everyone(tb={principal: TbClass.B1})
            await drive.until(lambda s: s.booking is not None, every=timedelta(days=1))
            await drive.until_step_screening_and_screen(principal)
            await drive.check_fitness(fit={child: False})
            await drive.until(lambda s: len(s.deferrals) == 1, every=timedelta(hours=1))
            await drive.until(lambda s: s.booking is not None and s.phase.value == "awaiting_flight",
                              every=timedelta(hours=12))
            await drive.until_step_screening_and_screen(principal)
            await drive.check_fitness()
            await drive.until(lambda s: s.phase.value == "departed")
            history = await drive.handle.fetch_history()
            HISTORY.write_text(history.to_json())
            print(f"wrote {HISTORY} ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(record())

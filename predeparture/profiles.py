"""The demo profile: the same departure, with the calendar shrunk so it can be watched.

A real departure lives for weeks to years: exit permits take months, the reception team wants ten working days of
notice, slow partners are asked for news once a day, and a family found unfit to fly waits two weeks. Nobody can
watch that at a desk, so `predeparture dev` and `predeparture demo` run with this profile unless `--realistic` is
given:

- partners answer in seconds instead of months (`SimulatorSettings.demo()`: permits in 5-40 s, documents in
  3-20 s, clinic slots 2 s ahead, orientation classes every 20 s, flights a minute or two after booking);
- the reception team needs no notice (`arrival_notice_working_days=0`), so a flight can be booked for today;
- slow partners are asked for news every 10 s, for the decisions whose callback went astray;
- a family found unfit is replanned one day later, the shortest deferral the policy allows (`unfit_deferral_days=1`);
- no flight date is sold out: sold-out dates are drawn per calendar day, and a demo lives inside one day, so a
  single unlucky draw would push every family of the demo to tomorrow.

With these, a demo family departs within a few minutes of real time, while every rule of the workflow still runs.
The profile only changes defaults: a simulator or policy value set explicitly (PREDEPARTURE_SIMULATOR__...,
PREDEPARTURE_POLICY__DEFAULT__...) still wins.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from domain.policy import DestinationPolicy, PolicyBook
from predeparture.settings import Settings, SimulatorSettings

DEMO_POLICY_CHANGES: dict[str, Any] = {
    "arrival_notice_working_days": 0,
    "partner_poll_interval": timedelta(seconds=10),
    "unfit_deferral_days": 1,
}


def demo_simulator(configured: SimulatorSettings | None = None) -> SimulatorSettings:
    configured = configured or SimulatorSettings()
    demo = SimulatorSettings.demo(seed=configured.seed).model_copy(update={"no_seats_rate": 0.0})
    return demo.model_copy(update=_explicit(configured))


def demo_policy(configured: DestinationPolicy | None = None) -> DestinationPolicy:
    configured = configured or DestinationPolicy()
    return configured.model_copy(update={**DEMO_POLICY_CHANGES, **_explicit(configured)})


def _explicit(model: BaseModel) -> dict[str, Any]:
    return {name: getattr(model, name) for name in model.model_fields_set}


def demo_policy_book(book: PolicyBook) -> PolicyBook:
    """The configured book with demo timing: per-destination rules that are not about time (which travel document
    a destination wants) stay; any per-destination timing that would bring the months back is dropped."""
    overrides = {
        country: {name: value for name, value in changes.items() if name not in DEMO_POLICY_CHANGES}
        for country, changes in book.overrides.items()
    }
    return PolicyBook(default=demo_policy(book.default), overrides={c: o for c, o in overrides.items() if o})


def demo_settings(settings: Settings) -> Settings:
    """The configured settings with demo timing; the seed, storage, Temporal and adapters stay as configured."""
    return settings.model_copy(
        update={"simulator": demo_simulator(settings.simulator), "policy": demo_policy_book(settings.policy)}
    )


def profile_settings(settings: Settings, realistic: bool) -> Settings:
    return settings if realistic else demo_settings(settings)


def profile_name(realistic: bool) -> str:
    return "realistic (partners take months)" if realistic else "demo (months shrunk to seconds)"

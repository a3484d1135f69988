"""What has been decided about a case, newest first: from the audit trail, the coordinators' actions and the
departure's own turns (replanned, departed, a booking given back). Step-by-step changes are the timeline's; they are
left out here. Who acted is said as the reader's office, the system or another organisation: actors are opaque."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from api.audit import repository as audit
from api.audit.service import actor_prefix
from api.context import ApiContext
from api.principal import Principal
from api.web.render import N_

LIMIT = 200  # rows read; one decision can write a row per step it touched

# Action -> what happened (a catalog message; %(day)s is the date the action names, if any).
SAID = {
    "case.created": N_("Case created"),
    "case.updated": N_("Case details changed"),
    "departure.started": N_("Departure started"),
    "departure.deferred": N_("Deferred: no flight before %(day)s"),
    "departure.date_changed": N_("Departure date changed to %(day)s"),
    "departure.replanned": N_("Replanned: no flight before %(day)s"),
    "departure.cancelled": N_("Departure cancelled"),
    "departure.refused": N_("Refused by a partner"),
    "departure.departed": N_("Departed"),
    "departure.charter_assigned": N_("Placed on a charter"),
    "departure.charter_given_up": N_("Charter seats given back"),
    "booking.cancelled": N_("Flight booking given back"),
}
BY_OFFICE, BY_SYSTEM, BY_OTHER = N_("your office"), N_("the system"), N_("another organisation")


@dataclass(frozen=True)
class Decision:
    action: str
    at: datetime
    said: str  # message id
    day: date | None
    by: str  # message id


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


async def case_history(context: ApiContext, principal: Principal, case_id: str) -> list[Decision]:
    """Call only for a case the principal's office owns (the audit read is scoped to the office as well)."""
    rows = await audit.office_audit(context, principal.org_id, object_id=case_id, action=None, since=None,
                                    before_id=None, limit=LIMIT)
    decisions: list[Decision] = []
    for _, event in rows:
        said = SAID.get(event.action)
        if said is None:
            continue
        by = BY_OFFICE if event.actor.startswith(actor_prefix(principal.org_id)) else \
            BY_SYSTEM if event.actor.startswith("system:") else BY_OTHER
        decision = Decision(event.action, event.at, said, _day(event.detail.get("not_before")), by)
        # The workflow writes one row per step a decision touched: the decision is said once.
        if decisions and (decisions[-1].said, decisions[-1].day, decisions[-1].at) == (said, decision.day, event.at):
            continue
        decisions.append(decision)
    return decisions

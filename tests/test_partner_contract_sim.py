"""The partner simulator service against the published contract (schemathesis): every operation answered with
a documented status, content type and body, never a 5xx, for data that fits the contract and data that does
not. With the adapter tests (test_partner_http.py) this keeps our side and the partner side from drifting."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from api.contract.document import partner_contract
from partners.contract.routes import OPERATIONS
from predeparture.partners_sim import PartnerSimConfig, create_partners_sim
from tests.departure_harness import quiet_simulator
from tests.partner_harness import API_KEYS

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 15, schemathesis.GenerationMode.NEGATIVE: 6}
ROLE_OF = {f"{op.method} {op.path}": op.role for op in OPERATIONS}


def test_the_simulator_service_answers_as_the_published_contract_says() -> None:
    schema = schemathesis.openapi.from_dict(partner_contract())
    app = create_partners_sim(PartnerSimConfig(quiet_simulator(), dict(API_KEYS), callback_interval=None))
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = {}
    with TestClient(app, raise_server_exceptions=False) as http:
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.label for op in operations} == ROLE_OF.keys()
        for operation in operations:
            headers = {"Authorization": f"Bearer {API_KEYS[ROLE_OF[operation.label]]}"}
            for mode, examples in EXAMPLES.items():

                @settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=False,
                          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(mode))
                def exercise(case: schemathesis.Case) -> None:
                    # Run within this iteration of the loop (below), so `headers` and `operation` are this one's.
                    kwargs = case.as_transport_kwargs(base_url="http://sim", headers=headers)  # noqa: B023
                    try:
                        response = http.request(kwargs["method"], kwargs["url"], headers=kwargs.get("headers"),
                                                params=kwargs.get("params"), json=kwargs.get("json"),
                                                content=kwargs.get("data"))
                    except (UnicodeError, ValueError, TypeError):
                        return  # not sendable over HTTP at all
                    statuses.setdefault(operation.label, set()).add(response.status_code)  # noqa: B023
                    try:
                        case.validate_response(response, checks=CHECKS, headers=headers)  # noqa: B023
                    except FailureGroup as broken:
                        failures.setdefault(operation.label, str(broken)[:2000])  # noqa: B023

                try:
                    exercise()
                except Unsatisfiable:
                    pass  # nothing to break in this operation's negative space
    assert not failures, "\n\n".join(f"== {label}\n{report}" for label, report in failures.items())
    succeeded = {label for label, seen in statuses.items() if any(200 <= s < 300 for s in seen)}
    assert succeeded == ROLE_OF.keys() - {"GET /exit-permits/{reference}", "GET /travel-documents/{reference}",
                                          "GET /bookings/{booking_ref}",
                                          "GET /orientation/reservations/{reservation_id}/attendance"}, statuses

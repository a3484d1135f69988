"""The published partner contract: valid OpenAPI 3.1, one operation per partner Protocol method, every callback
route of the API documented, and the file in the repository equal to what the API serves."""

from __future__ import annotations

import json
from typing import Any, get_type_hints

import pytest
from openapi_spec_validator import validate

from api.app import create_app
from api.contract.document import PUBLISHED, WEBHOOKS, partner_contract
from partners.base import Partners
from partners.contract.routes import IDEMPOTENCY_KEY, OPERATIONS


def _protocol_methods() -> set[str]:
    return {f"{role}.{name}" for role, protocol in get_type_hints(Partners).items()
            for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")}


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for methods in document["paths"].values() for op in methods.values()}


def test_the_contract_is_valid_openapi_3_1() -> None:
    document = partner_contract()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_partner_method_is_an_operation_of_the_contract() -> None:
    assert set(_operations(partner_contract())) == _protocol_methods()


def test_side_effecting_requests_require_an_idempotency_key_and_reads_take_no_body() -> None:
    operations = _operations(partner_contract())
    for op in OPERATIONS:
        documented = operations[op.operation_id]
        headers = {p["name"] for p in documented["parameters"] if p["in"] == "header" and p["required"]}
        if op.side_effect:
            assert IDEMPOTENCY_KEY in headers, op.operation_id
            assert "requestBody" in documented
        else:
            assert "requestBody" not in documented


def test_no_url_carries_personal_data() -> None:
    """Path parameters are only the partner's own references; names and birth dates travel in bodies."""
    for path in partner_contract()["paths"]:
        parameters = [part for part in path.split("/") if part.startswith("{")]
        assert parameters in ([], ["{reference}"], ["{reservation_id}"], ["{booking_ref}"]), path


def test_errors_say_which_are_retried() -> None:
    for op in _operations(partner_contract()).values():
        responses = op["responses"]
        assert {"400", "422", "429", "503"} <= responses.keys()
        assert "Retry-After" in responses["429"]["headers"] and "Retry-After" in responses["503"]["headers"]
        assert responses["422"]["content"].keys() == {"application/problem+json"}


def test_every_callback_route_of_the_api_is_a_signed_webhook() -> None:
    app = create_app()
    callback_routes = {path for path in app.openapi()["paths"] if path.startswith("/callbacks/")}
    webhooks = partner_contract()["webhooks"]
    assert {hook["post"]["x-path"] for hook in webhooks.values()} == callback_routes
    for hook in webhooks.values():
        headers = {p["name"] for p in hook["post"]["parameters"] if p["in"] == "header"}
        assert "X-Partner-Signature" in headers
        assert "401" in hook["post"]["responses"]
    assert {hook.path for hook in WEBHOOKS} == callback_routes


def test_the_file_in_the_repository_is_the_served_contract() -> None:
    """Regenerate with `predeparture partners-contract` after changing a partner message."""
    assert json.loads(PUBLISHED.read_text()) == json.loads(json.dumps(partner_contract()))


@pytest.mark.asyncio
async def test_the_api_serves_the_contract_without_a_token() -> None:
    import httpx

    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        response = await http.get("/partners/contract.json")
        docs = await http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Pre-departure partner contract"
    assert "/partners/contract.json" in docs.json()["info"]["description"]

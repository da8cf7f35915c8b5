"""Schemathesis over the published contract of a real server process: no input may cause a 5xx."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from plugins.stratus_server import LiveServer, start_server

MAX_EXAMPLES = 25 if os.environ.get("CI", "").lower() == "true" else 10


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("fuzz") / "home")
    yield server
    server.stop()


def test_no_input_makes_a_server_error(fuzz_server: LiveServer) -> None:
    """Every operation of /openapi.json, fuzzed with the admin token; collects all failures."""
    headers = {"Authorization": f"Bearer {fuzz_server.admin_token}"}
    contract = httpx.get(f"{fuzz_server.url}/openapi.json", headers=headers).json()
    schema = schemathesis.openapi.from_dict(contract)
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def fuzz(case) -> None:
            response = case.call(base_url=fuzz_server.url, headers=headers)
            calls.append(response.status_code)
            if response.status_code >= 500 or "Traceback" in response.text:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
                )
            else:
                case.validate_response(response, checks=[not_a_server_error])

        fuzz()
    assert operations >= 15 and len(calls) >= operations
    print(f"{operations} operations, {len(calls)} calls, statuses {sorted(set(calls))}")
    assert failures == []


def test_contract_lists_every_api_route_and_hides_none(fuzz_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {fuzz_server.admin_token}"}
    contract = httpx.get(f"{fuzz_server.url}/openapi.json", headers=headers).json()
    assert contract["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"/api/v1/me", "/api/v1/workspaces", "/api/v1/tokens", "/health"} <= set(contract["paths"])
    for path, operations in contract["paths"].items():
        for method, operation in operations.items():
            assert "x-stratus-permission" in operation, (method, path)
    assert httpx.get(f"{fuzz_server.url}/openapi.json").status_code == 401
    docs = httpx.get(f"{fuzz_server.url}/docs")
    assert docs.status_code == 200 and "Authorize" in docs.text
    assert httpx.get(f"{fuzz_server.url}/docs/assets/swagger-ui-bundle.js").status_code == 200

"""Property-based fuzzing of each running service from its own OpenAPI document (schemathesis):
no input a client may send answers 5xx, and every answer matches what the document says, its
status code, media type, headers and body schema.

The four services run as real processes against the test Kafka and PostgreSQL. Every
operation gets a few derandomized examples (the same inputs on every run), valid ones with an
operator token holding every scope, then invalid ones. Each distinct failure is reported once
with a curl command that reproduces it (the token filtered out: `hotline token --scope ...`
mints one), so one run lists the whole gap.
"""

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.cli import DEPARTMENT_SCOPES, OPERATOR_SCOPES
from services.processes import ServiceProcess
from tests.e2e.conftest import Stack
from tests.support import processes

pytestmark = pytest.mark.e2e

EXAMPLES = 8  # per operation and mode: 67 operations x 2 modes x 8 take about a minute
REQUEST_TIMEOUT = 10.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Valid requests, then invalid ones: an invalid one must be refused with a documented 4xx
# whose body matches its schema, never a 5xx.
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@dataclass
class Findings:
    """Distinct failures, (operation, what failed) -> the first reproduction."""

    found: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: int = 0

    def add(self, label: str, failure: Failure, reproduce: str) -> None:
        self.found.setdefault((label, failure.title), f"{failure.message}\n      {reproduce}")

    def report(self, service: str) -> str:
        lines = [f"{service}: {len(self.found)} distinct failure(s) in {self.requests} requests:"]
        for (label, title), detail in sorted(self.found.items()):
            lines.append(f"  {label}: {title}\n      {detail.strip()}")
        return "\n".join(lines)


def failures(group: BaseException) -> Iterator[Failure]:
    if isinstance(group, Failure):
        yield group
    elif isinstance(group, BaseExceptionGroup):
        for exc in group.exceptions:
            yield from failures(exc)


def fuzz(base_url: str, token: str) -> Findings:
    """Blocking (schemathesis calls with requests): run it in a thread."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=REQUEST_TIMEOUT)
    headers = {"Authorization": f"Bearer {token}"}
    findings = Findings()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            findings.found[("the document", "invalid operation")] = str(result.err())
            continue
        for mode in MODES:
            fuzz_operation(result.ok(), mode, base_url, headers, findings)
    return findings


def fuzz_operation(
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    mode: schemathesis.GenerationMode,
    base_url: str,
    headers: dict[str, str],
    findings: Findings,
) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same inputs on every run: a failure reproduces
        database=None,  # nothing written to .hypothesis/
        deadline=None,  # a request's latency is not the property under test
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # every failure is kept
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def examples(case: schemathesis.Case[Any]) -> None:
        findings.requests += 1
        response = case.call(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            curl = case.as_curl_command(headers=headers, base_url=base_url)
            reproduce = f"answered {response.status_code} to: {curl}"
            for failure in failures(group):
                findings.add(operation.label, failure, reproduce)

    try:
        examples()
    except hypothesis.errors.Unsatisfiable:
        if mode is not schemathesis.GenerationMode.NEGATIVE:
            raise
        # Nothing invalid to send: no parameters and no body (GET /v1/catalogue).


def all_scopes(documents: list[dict[str, Any]]) -> list[str]:
    declared = {
        scope
        for document in documents
        for scheme in document.get("components", {}).get("securitySchemes", {}).values()
        for flow in scheme.get("flows", {}).values()
        for scope in flow.get("scopes", {})
    }
    return sorted(declared | set(OPERATOR_SCOPES) | set(DEPARTMENT_SCOPES))


@pytest.fixture(scope="module")
async def token(stack: Stack) -> str:
    async with httpx.AsyncClient() as client:
        documents = [(await client.get(f"{s.url}/openapi.json")).json() for s in stack.all]
    return processes.token(*all_scopes(documents))


@pytest.mark.parametrize("name", ["intake", "dispatch", "feedback", "audit"])
async def test_no_input_answers_5xx_or_off_the_documented_contract(
    stack: Stack, token: str, name: str
) -> None:
    service: ServiceProcess = getattr(stack, name)
    started = time.monotonic()
    findings = await asyncio.to_thread(fuzz, service.url, token)
    elapsed = time.monotonic() - started
    assert findings.requests > 0, f"{name}: no operation was fuzzed"
    assert not findings.found, (
        findings.report(name) + f"\n({elapsed:.0f} s; logs in {service.log_file})"
    )

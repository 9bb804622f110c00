"""The auditor's terminal against a running audit service."""

import io
import json

import httpx
import pytest

from services import audit_cli
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_receipts import recorded
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e


async def test_timeline_replay_and_export_from_the_terminal(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_AUDIT_URL", stack.audit.url)
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=bearer(*OPERATOR)
        )
        appeal_id = created.json()["id"]
        await recorded(client, stack, appeal_id)  # the relay publishes after the response

    shown = io.StringIO()
    assert audit_cli.timeline(appeal_id, out=shown) == 0
    lines = shown.getvalue().splitlines()
    assert "appeal.received" in lines[0]
    assert any(line.startswith("chain intake: 2 facts, verified") for line in lines)

    progress = io.StringIO()
    assert audit_cli.replay(out=progress, poll_seconds=0.1) == 0
    assert '"equal": true' in progress.getvalue()

    exported = io.StringIO()
    assert audit_cli.export("jsonl", out=exported) == 0
    subjects = {json.loads(line)["subject"] for line in exported.getvalue().splitlines()}
    assert appeal_id in subjects

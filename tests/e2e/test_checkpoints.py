"""Merkle checkpoints: a root kept by an outsider proves the facts it covered, and stops
proving a fact that was rewritten afterwards."""

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from audit_service.domain import merkle
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_receipts import recorded
from tests.support import infra, polling, processes, tampering
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
HEADERS = bearer(*OPERATOR)


def _verifies(proof: dict[str, Any], kept_root: str) -> bool:
    return merkle.verify_inclusion(
        merkle.leaf_hash(proof["fact_hash"]),
        proof["leaf_index"],
        proof["checkpoint"]["size"],
        [bytes.fromhex(node) for node in proof["audit_path"]],
        bytes.fromhex(kept_root),
    )


async def test_a_kept_root_proves_facts_and_exposes_a_rewrite(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=HEADERS)
        appeal_id = created.json()["id"]
        event_id = created.json()["event_id"]
        await recorded(client, stack, appeal_id)

        made = await client.post(f"{stack.audit.url}/v1/checkpoints", headers=HEADERS)
        assert made.status_code in (200, 201), made.text
        kept = made.json()  # what an outside notary would keep
        listed = (await client.get(f"{stack.audit.url}/v1/checkpoints", headers=HEADERS)).json()
        assert listed["items"][0]["root"] == kept["root"]

        proof_url = f"{stack.audit.url}/v1/facts/{event_id}/proof"
        answer = await client.get(proof_url, params={"size": kept["size"]}, headers=HEADERS)
        assert answer.status_code == 200, answer.text
        proof = answer.json()
        assert proof["checkpoint"] == kept
        assert _verifies(proof, kept["root"])

        # Someone edits the stored fact behind audit's back...
        engine = create_async_engine(infra.owner_url(processes.database_url(stack.audit)))
        async with engine.begin() as conn:
            await tampering.unchecked(conn)
            await conn.execute(
                text("UPDATE facts SET hash = repeat('e', 64) WHERE event_id = :e"), {"e": event_id}
            )
        await engine.dispose()
        # ... and the kept root no longer vouches for what is now served.
        rewritten = (
            await client.get(proof_url, params={"size": kept["size"]}, headers=HEADERS)
        ).json()
        assert not _verifies(rewritten, kept["root"])
        history = (
            await client.get(f"{stack.audit.url}/v1/appeals/{appeal_id}/history", headers=HEADERS)
        ).json()
        assert history["verified"] is False

        unknown = await client.get(f"{stack.audit.url}/v1/facts/{appeal_id}/proof", headers=HEADERS)
        assert unknown.status_code == 404


async def test_history_at_a_moment_and_streamed_exports(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=HEADERS)
        appeal_id = created.json()["id"]
        history_url = f"{stack.audit.url}/v1/appeals/{appeal_id}/history"

        async def assigned() -> dict[str, Any] | None:
            body = (await client.get(history_url, headers=HEADERS)).json()
            types = [f["type"] for f in body.get("facts", [])]
            return dict(body) if "appeal.assigned" in types else None

        full = await polling.until(assigned, what="audit to record the assignment")
        by_type = {f["type"]: f for f in full["facts"]}
        received = datetime.fromisoformat(by_type["appeal.received"]["recorded_at"])
        assignment = datetime.fromisoformat(by_type["appeal.assigned"]["recorded_at"])
        # audit records a cause no later than its effect (one fetch: one transaction)
        assert received <= assignment

        async def known_at(moment: datetime) -> list[str]:
            params = {"known_at": moment.isoformat()}
            body = (await client.get(history_url, headers=HEADERS, params=params)).json()
            return [f["type"] for f in body.get("facts", [])]

        # just before the assignment was recorded, audit did not know it yet ...
        earlier = await known_at(assignment - timedelta(microseconds=1))
        assert "appeal.assigned" not in earlier
        # ... and as soon as it knew the filing, it knew it first
        assert (await known_at(received))[0] == "appeal.received"
        before = await client.get(
            history_url, headers=HEADERS, params={"happened_by": "2000-01-01T00:00:00+08:00"}
        )
        assert before.status_code == 404

        lines = (
            await client.get(f"{stack.audit.url}/v1/exports/facts.jsonl", headers=HEADERS)
        ).text.splitlines()
        exported = [json.loads(line) for line in lines]
        assert [r["seq"] for r in exported] == sorted(r["seq"] for r in exported)
        mine = [r for r in exported if r["subject"] == appeal_id]
        numbered = [r["type"] for r in mine]  # in seq order: as caused
        assert numbered.index("appeal.received") < numbered.index("appeal.assigned")
        # the phone is sealed in the fact: the export carries no number in clear
        assert mine[0]["data"]["citizen"].get("phone") is None
        assert "13800138000" not in json.dumps(mine, ensure_ascii=False)
        table = await client.get(f"{stack.audit.url}/v1/exports/facts.csv", headers=HEADERS)
        rows = list(csv.reader(io.StringIO(table.text)))
        assert rows[0][:3] == ["seq", "event_id", "type"]
        assert len(rows) == len(exported) + 1

"""Tampering on the wire is reported: forged facts published straight onto a topic, a fact
whose predecessor was rewritten upstream, a known fact id arriving with other content, and
a dropped fact, each as a finding naming the appeal and the topic, partition and offset it
was read at; a replay finds the broken chains again from the log alone."""

import json
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from shared import envelope, events, topics
from shared.runtime import kafka
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_replay import _replay
from tests.support import infra, polling
from tests.support.processes import OPERATOR, bearer
from tests.unit import factories

pytestmark = pytest.mark.e2e
HEADERS = bearer(*OPERATOR)


def _claiming(event: events.Event, **changes: Any) -> bytes:
    """The event's wire bytes with some envelope attributes replaced (a forger's edit)."""
    wire = json.loads(envelope.encode(event, version=1, prev_hash=envelope.GENESIS_HASH).body)
    return envelope.canonical_json({**wire, **changes})


def _unmerged(appeal_id: str, version: int, prev_hash: str) -> bytes:
    event = events.Unmerged(
        id=uuid4(),
        subject=appeal_id,
        time=factories.T0,
        actor="operator:mallory",
        correlation_id=appeal_id,
        parent=uuid4(),
        reason="伪造",
    )
    return envelope.encode(event, version=version, prev_hash=prev_hash).body


async def test_forged_rewritten_and_dropped_facts_are_findings(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=HEADERS)
        appeal_id = created.json()["id"]
        history_url = f"{stack.audit.url}/v1/appeals/{appeal_id}/history"
        await polling.until(
            lambda: _recorded(client, history_url), what="audit to record the appeal"
        )
        recorded = (await client.get(history_url, headers=HEADERS)).json()["facts"][0]
        rewritten = factories.received(UUID(appeal_id)).model_copy(
            update={"id": UUID(recorded["event_id"]), "content": "改写过的诉求内容"}
        )
        forged = factories.assigned(factories.received())
        sent = {
            # dispatch's fact, but on intake's topic: not where dispatch writes
            "wrong_topic": (topics.INTAKE, _claiming(forged)),
            # dispatch's fact type claimed by intake, which does not own it
            "wrong_source": (topics.INTAKE, _claiming(forged, source="intake")),
            # a producer that is none of the services
            "unknown_producer": (topics.INTAKE, _claiming(forged, source="mallory")),
            # intake's stream of the real appeal (v1 received, v2 forwarded): a v3 not naming
            # v2's hash (v2 was rewritten upstream, or this one is forged), then a v5 with v4
            # never sent (a dropped fact)
            "broken_link": (topics.INTAKE, _unmerged(appeal_id, 3, "f" * 64)),
            "gap": (topics.INTAKE, _unmerged(appeal_id, 5, "e" * 64)),
            # the receipt again, under its own id, saying something else (a rewrite)
            "reused_id": (
                topics.INTAKE,
                envelope.encode(rewritten, version=1, prev_hash=envelope.GENESIS_HASH).body,
            ),
        }
        positions = {}
        producer = kafka.producer(infra.KAFKA, client_id="test-tamper")
        await producer.start()
        try:
            for kind, (topic, body) in sent.items():
                key = (
                    appeal_id
                    if kind in ("broken_link", "gap", "reused_id")
                    else str(forged.subject)
                ).encode()
                meta = await producer.send_and_wait(topic, body, key=key)
                positions[kind] = {
                    "topic": topic,
                    "partition": meta.partition,
                    "offset": meta.offset,
                }
        finally:
            await producer.stop()

        async def all_found() -> dict[str, dict[str, Any]] | None:
            found: dict[str, dict[str, Any]] = {}
            params: dict[str, Any] = {"limit": 2}
            while True:
                response = await client.get(
                    f"{stack.audit.url}/v1/findings", params=params, headers=HEADERS
                )
                page = response.json()
                assert ("link" in response.headers) == (page["next"] is not None)
                found |= {
                    f["kind"]: f for f in page["items"] if f["position"] in positions.values()
                }
                if page["next"] is None:
                    break
                params["cursor"] = page["next"]
            return found if set(found) == set(sent) else None

        found = await polling.until(all_found, what="audit to report every tampering")
        for kind, finding in found.items():
            assert finding["position"] == positions[kind], kind
        assert found["wrong_source"]["appeal_id"] == str(forged.subject)
        assert "must come from dispatch" in found["wrong_source"]["detail"]
        assert found["unknown_producer"]["source"] == "mallory"
        assert (found["broken_link"]["appeal_id"], found["broken_link"]["version"]) == (
            appeal_id,
            3,
        )
        assert "versions 4..4 never arrived" in found["gap"]["detail"]
        assert found["reused_id"]["event_id"] == recorded["event_id"]

        only = await client.get(
            f"{stack.audit.url}/v1/findings",
            params={"kind": "gap", "appeal_id": appeal_id},
            headers=HEADERS,
        )
        assert [f["kind"] for f in only.json()["items"]] == ["gap"]
        history = (await client.get(history_url, headers=HEADERS)).json()
        assert history["verified"] is False
        assert {f["kind"] for f in history["findings"]} == {"broken_link", "gap", "reused_id"}
        assert history["facts"][0]["data"]["content"] == recorded["data"]["content"]  # kept

        replay = await _replay(client, stack)
    # Rebuilt from the log alone, the same stream is broken again.
    broken = [b for b in replay["report"]["broken"] if b["appeal_id"] == appeal_id]
    assert [b["source"] for b in broken] == ["intake"]
    assert replay["report"]["broken_chains"] >= 1


async def _recorded(client: httpx.AsyncClient, url: str) -> bool | None:
    response = await client.get(url, headers=HEADERS)
    # both of intake's facts (received, forwarded): the forged ones follow them
    return True if response.status_code == 200 and len(response.json()["facts"]) >= 2 else None

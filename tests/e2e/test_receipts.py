"""A citizen's receipt, end to end: filed at intake, proven by audit against a signed and
published checkpoint, verified offline; then someone with database access rewrites the
fact and rebuilds audit's tree over it. audit refuses to sign that tree, which does not extend
the one it signed; once its signed checkpoints are deleted too, it signs the rewrite, and the
receipt no longer verifies against any later checkpoint."""

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from audit_service.domain import records, signing
from audit_service.settings import DEV_SEAL_KEY
from services import cli
from shared import envelope, topics
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_replay import _audit_caught_up
from tests.support import infra, polling, processes
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
HEADERS = bearer(*OPERATOR)


@pytest.fixture(scope="module")
async def linked(servers: None) -> AsyncIterator[Stack]:
    """The stack, with intake linking receipts to this audit's address."""

    async def point_intake_at_audit(stack: Stack) -> None:
        stack.intake.env["HOTLINE_AUDIT_PUBLIC_URL"] = stack.audit.url

    async with running_stack(prepare=point_intake_at_audit) as running:
        yield running


def _verify(key: Path, *documents: dict[str, Any], folder: Path) -> int:
    """`hotline audit verify`, in this process, on documents saved as the API gave them."""
    files = []
    for i, document in enumerate(documents):
        files.append(folder / f"document-{i}.json")
        files[-1].write_text(json.dumps(document))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["audit", "verify", "--key", str(key), *map(str, files)])
    return int(exit_.value.code or 0)


def _by_the_docs(receipt: dict[str, Any], public_pem: bytes) -> bool:
    """docs/receipts.md's algorithm, written out here on its own (hashlib + Ed25519)."""
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, Ed25519PublicKey)
    c = receipt["checkpoint"]
    statement = (
        f"hotline-audit-checkpoint/v1\nsize {c['size']}\nroot {c['root']}\n"
        f"time {c['time']}\nkey {c['key_id']}\n"
    ).encode()
    try:
        key.verify(bytes.fromhex(c["signature"]), statement)
    except InvalidSignature:
        return False
    node = hashlib.sha256(b"\x00" + bytes.fromhex(receipt["fact_hash"])).digest()
    fn, sn = receipt["leaf_index"], c["size"] - 1
    for sibling in map(bytes.fromhex, receipt["audit_path"]):
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    return bool(sn == 0 and node.hex() == c["root"])


async def recorded(client: httpx.AsyncClient, stack: Stack, appeal_id: str) -> None:
    """Until audit holds the appeal's facts (the relay publishes after the response, so
    Kafka's end offsets alone may not include them yet)."""

    async def known() -> bool | None:
        history = f"{stack.audit.url}/v1/appeals/{appeal_id}/history"
        return (await client.get(history, headers=HEADERS)).status_code == 200 or None

    await polling.until(known, what="audit to record the appeal")
    await polling.until(lambda: _audit_caught_up(stack), what="audit to catch up")


async def _file_and_checkpoint(client: httpx.AsyncClient, stack: Stack) -> tuple[Any, Any]:
    filed = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=HEADERS)
    assert filed.status_code == 201, filed.text
    await recorded(client, stack, filed.json()["id"])
    made = await client.post(f"{stack.audit.url}/v1/checkpoints", headers=HEADERS)
    assert made.status_code == 201, made.text
    return filed.json(), made.json()


async def _published(checkpoint: dict[str, Any]) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.KAFKA, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topics.CHECKPOINTS, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        while await consumer.position(partition) < end:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.value is not None and json.loads(record.value) == checkpoint:
                        return bool(record.key == str(checkpoint["size"]).encode())
    finally:
        await consumer.stop()
    return False


async def _rewrite(conn: AsyncConnection, fact_hash: str) -> None:
    """New bytes for the fact, their hash, and the seal over them: a row that agrees with
    itself, as only a holder of the seal key can make it."""
    query = text("SELECT * FROM facts WHERE hash = :h")
    row = (await conn.execute(query, {"h": fact_hash})).mappings().one()
    fact = json.loads(row["body"])
    fact["data"]["rewritten"] = True
    body = envelope.canonical_json(fact)
    forged = envelope.digest(body)
    seal = records.seal(
        DEV_SEAL_KEY.encode(),
        **{c: row[c] for c in ("event_id", "topic", "partition", "offset", "ingested_at", "seq")},
        hash=forged,
    )
    await conn.execute(
        text("UPDATE facts SET body = :b, hash = :h, seal = :s WHERE event_id = :e"),
        {"b": body.decode(), "h": forged, "s": seal, "e": row["event_id"]},
    )


async def test_a_receipt_verifies_offline_until_the_fact_is_rewritten(
    linked: Stack, tmp_path: Path
) -> None:
    stack = linked
    async with httpx.AsyncClient(timeout=20) as client:
        filed, first = await _file_and_checkpoint(client, stack)
        kept = filed["receipt"]  # what a partner keeps from the filing response
        assert kept["proof_url"] == f"{stack.audit.url}/v1/receipts/{kept['fact_hash']}"
        progress = await client.get(
            f"{stack.intake.url}/v1/progress/{filed['id']}", params={"phone_last4": "8000"}
        )
        assert progress.json()["receipt"] == kept  # and a citizen, with no token
        history = (
            await client.get(f"{stack.audit.url}/v1/appeals/{filed['id']}/history", headers=HEADERS)
        ).json()
        [received] = [f for f in history["facts"] if f["type"] == "appeal.received"]
        assert received["hash"] == kept["fact_hash"]

        receipt = (await client.get(kept["proof_url"])).json()  # public: no token
        assert receipt["fact_hash"] == kept["fact_hash"]
        assert receipt["checkpoint"] == first
        assert await _published(first)
        served = (await client.get(f"{stack.audit.url}/v1/checkpoints/public-key")).json()
        key = tmp_path / "audit.pem"
        key.write_text(served["current"]["pem"])
        assert _verify(key, receipt, folder=tmp_path) == 0
        assert _by_the_docs(receipt, key.read_bytes())
        wrong = tmp_path / "wrong.pem"
        wrong.write_text(signing.public_pem(Ed25519PrivateKey.generate().public_key()))
        assert not _by_the_docs(receipt, wrong.read_bytes())
        assert _verify(wrong, receipt, folder=tmp_path) == 1

        # Someone with database access and audit's seal key rewrites the accepted fact in
        # audit's store, so that its row passes every check, and rebuilds the tree over it...
        engine = create_async_engine(infra.owner_url(processes.database_url(stack.audit)))
        async with engine.begin() as conn:
            await _rewrite(conn, kept["fact_hash"])
            await conn.execute(text("DELETE FROM merkle_nodes"))
            await conn.execute(text("DELETE FROM merkle_leaves"))
        # ...but audit will not sign a tree that does not extend the one it signed,
        again = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=HEADERS)
        await recorded(client, stack, again.json()["id"])
        refused = await client.post(f"{stack.audit.url}/v1/checkpoints", headers=HEADERS)
        assert refused.status_code == 409, refused.text
        assert f"does not extend the signed tree of {first['size']}" in refused.json()["detail"]
        # so the rewriter deletes the signed checkpoints too, and audit signs the rewrite.
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM checkpoints"))
        await engine.dispose()
        _, later = await _file_and_checkpoint(client, stack)
        assert later["size"] > first["size"]

        # The receipt fails against it: audit no longer has the fact,
        gone = await client.get(kept["proof_url"], params={"size": later["size"]})
        assert gone.status_code == 404
        # cannot show the later checkpoint extends the one the receipt was signed under,
        consistency = await client.get(
            f"{stack.audit.url}/v1/checkpoints/consistency",
            params={"old": first["size"], "new": later["size"]},
        )
        assert consistency.status_code == 404
        # and the receipt's own path does not lead to the later root.
        moved = {**receipt, "checkpoint": later}
        assert _verify(key, moved, folder=tmp_path) == 1
        assert not _by_the_docs(moved, key.read_bytes())
        # The signatures themselves still hold: it is the history that changed.
        assert _verify(key, first, later, folder=tmp_path) == 0

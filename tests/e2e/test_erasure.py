"""Erasure (crypto-shredding) over real Kafka and PostgreSQL: a marker citizen files two
appeals, one goes through to a notice and a callback; their personal data is erased by
phone; then every view shows it erased, chains verify, a replay comes out equal, and the
marker's plaintext is in no database dump, no Kafka log segment and no service log."""

import asyncio
import json
import os
import random
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from services.processes import ROOT
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_replay import _replay
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders
from tests.support import polling
from tests.support.processes import bearer, database_url
from tests.support.webhook_receiver import Receiver, free_port

pytestmark = pytest.mark.e2e
_rng = random.SystemRandom()
# A citizen no other test files: a name of random CJK characters, numbers of random digits.
NAME = "欧阳" + "".join(chr(_rng.randrange(0x4E00, 0x9FA5)) for _ in range(4))
PHONE = "139" + "".join(_rng.choice("0123456789") for _ in range(8))
ID_NUMBER = "".join(_rng.choice("0123456789") for _ in range(17)) + "X"
ADDRESS = f"东城区{NAME[2:]}路{_rng.randrange(100, 999)}号"
LAT, LONG = round(_rng.uniform(39.8, 40.0), 6), round(_rng.uniform(116.3, 116.5), 6)
ERASER = bearer("personal-data:erase")
AUDITOR = bearer("audit:read", "audit:personal-data")


def markers() -> dict[str, list[bytes]]:
    """Each piece of the marker in every encoding it could be stored or logged in."""
    found: dict[str, list[bytes]] = {}
    for label, text in (("name", NAME), ("address", ADDRESS)):
        escaped = json.dumps(text)[1:-1]  # \uXXXX, as json.dumps writes it by default
        found[label] = [text.encode(), escaped.encode(), escaped.upper().encode()]
    spaced = f"{PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}"
    found["phone"] = [PHONE.encode(), spaced.encode()]
    found["id_number"] = [ID_NUMBER.encode()]
    found["coordinates"] = [repr(LAT).encode(), repr(LONG).encode()]
    return found


def appeal(content: str) -> dict[str, Any]:
    return {
        "channel": "phone",
        "appeal_type": "complaint",
        "category": "water.outage",
        "content": content,
        "citizen": {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER},
        "location": {"address": ADDRESS, "district": "east", "lat": LAT, "long": LONG},
    }


@pytest.fixture(scope="module")
async def erasing(servers: None) -> AsyncIterator[tuple[Stack, Receiver]]:
    citizen = Receiver(free_port())
    fast = {
        "HOTLINE_CITIZEN_CHANNEL_URLS": json.dumps({"phone": citizen.url}),
        "HOTLINE_WEBHOOK_BACKOFF_SECONDS": "0.5",
        "HOTLINE_WEBHOOK_INTERVAL_SECONDS": "0.2",
    }
    await citizen.start()
    try:
        async with running_stack({"feedback": fast}) as running:
            yield running, citizen
    finally:
        await citizen.stop()


async def test_an_erased_citizen_is_shown_erased_and_found_nowhere(
    erasing: tuple[Stack, Receiver],
) -> None:
    stack, citizen = erasing
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=15) as client:
        ids = []
        for content in ("幸福小区停水两天", "幸福小区又停水了"):
            filed = await client.post(
                f"{stack.intake.url}/v1/appeals", json=appeal(content), headers=OPERATOR_HEADERS
            )
            assert filed.status_code == 201, filed.text
            ids.append(filed.json()["id"])
        # the second is flagged a repeat of the first: found by the phone's blind index
        assert filed.json()["repeat_candidates"] == [ids[0]]
        shown = (
            await client.get(f"{stack.intake.url}/v1/appeals/{ids[0]}", headers=OPERATOR_HEADERS)
        ).json()
        assert shown["personal_data"] == "shown"
        assert (shown["citizen"]["name"], shown["location"]["lat"]) == (NAME, LAT)

        # The first goes through: replied, approved (the citizen is told, at their phone),
        # called back and closed.
        orders = WorkOrders(client, stack, ids[0])
        await orders.when(lambda b: b["stage"] == "assigned")
        await orders.act("sign-for", {"person": "李工"}, water)
        await orders.feedback_when(lambda b: b["signed_for"])
        await orders.reply(water, "已抢修，恢复供水")
        await orders.review("approved")
        await orders.callback({"reached": True, "satisfaction": "satisfied", "solved": True})
        await orders.when(lambda b: b["stage"] == "closed")

        async def told() -> dict[str, Any] | None:
            notices = [json.loads(r.body) for r in citizen.requests]
            return next((n for n in notices if n["kind"] == "reply_approved"), None)

        notice = await polling.until(told, what="the citizen's reply notice")
        assert notice["phone"] == PHONE  # feedback opened it with intake's key to send

        history_url = f"{stack.audit.url}/v1/appeals/{ids[0]}/history"

        async def audited(kind: str) -> dict[str, Any] | None:
            body = (await client.get(history_url, headers=AUDITOR)).json()
            return body if any(f["type"] == kind for f in body.get("facts", [])) else None

        before = await polling.until(lambda: audited("appeal.closed"), what="audit of the close")
        [received] = [f for f in before["facts"] if f["type"] == "appeal.received"]
        assert received["data"]["personal_data"]["name"] == NAME
        assert received["data"]["personal_data"]["state"] == "shown"

        # Erased by phone, written as the citizen said it: both appeals.
        erased = await client.post(
            f"{stack.intake.url}/v1/erasures",
            json={"phone": f"+86 {PHONE}", "basis": "citizen_request", "reference": "PIPL-T1"},
            headers=ERASER,
        )
        assert erased.status_code == 202, erased.text
        assert sorted(erased.json()["appeals"]) == sorted(ids)
        assert erased.json()["keys_destroyed"] == 1
        location = erased.headers["location"]

        async def done() -> dict[str, Any] | None:
            body = (await client.get(f"{stack.intake.url}{location}", headers=ERASER)).json()
            return dict(body) if body["status"] == "done" else None

        await polling.until(done, what="the erasure to be done")
        again = await client.post(
            f"{stack.intake.url}/v1/erasures",
            json={"phone": PHONE, "basis": "citizen_request"},
            headers=ERASER,
        )
        assert again.status_code == 404  # no living key for that phone any more

        for appeal_id in ids:
            view = (
                await client.get(
                    f"{stack.intake.url}/v1/appeals/{appeal_id}", headers=OPERATOR_HEADERS
                )
            ).json()
            assert view["personal_data"] == "erased"
            assert view["citizen"]["name"] is None
            assert view["location"] == {**view["location"], "address": None, "lat": None}
            assert view["location"]["district"] == "east"
        progress = await client.get(
            f"{stack.intake.url}/v1/progress/{ids[0]}", params={"phone_last4": PHONE[-4:]}
        )
        assert progress.status_code == 404

        after = await polling.until(
            lambda: audited("appeal.personal_data_erased"), what="audit of the erasure"
        )
        assert after["verified"] is True
        assert all(chain["verified"] for chain in after["chains"])
        [received] = [f for f in after["facts"] if f["type"] == "appeal.received"]
        assert received["data"]["personal_data"]["state"] == "erased"
        assert received["data"]["personal_data"]["name"] is None
        [record] = [f for f in after["facts"] if f["type"] == "appeal.personal_data_erased"]
        assert record["data"]["basis"] == "citizen_request"

        await _feedback_forgot(stack, ids)
        replay = await _replay(client, stack)
        assert replay["status"] == "equal", replay

    for service in stack.all:  # every line of every log is on disk
        service.stop()
    found = await asyncio.to_thread(_search_everywhere, stack)
    assert found == [], f"the erased citizen's plaintext is still stored: {found}"


async def _feedback_forgot(stack: Stack, ids: list[str]) -> None:
    url = database_url(stack.feedback).replace("postgresql+asyncpg", "postgresql")

    async def forgotten() -> bool | None:
        conn = await asyncpg.connect(url)
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM appeals WHERE appeal_id = ANY($1::uuid[]) "
                "AND personal_data IS NOT NULL",
                ids,
            )
        finally:
            await conn.close()
        return True if left == 0 else None

    await polling.until(forgotten, what="feedback to forget the sealed data")


def _pg_dump(url: str) -> bytes:
    bindir = subprocess.run(
        ["bash", str(ROOT / "services" / "postgres-binaries.sh")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    plain = url.replace("postgresql+asyncpg", "postgresql")
    return subprocess.run(
        [f"{bindir}/pg_dump", "--no-owner", "--data-only", plain], check=True, capture_output=True
    ).stdout


def _found_in(content: bytes) -> set[str]:
    return {label for label, codes in markers().items() if any(c in content for c in codes)}


def test_the_search_would_find_the_marker_however_it_was_written() -> None:
    filed = appeal("x")
    assert _found_in(json.dumps(filed).encode()) == set(markers())  # \u escapes
    assert _found_in(json.dumps(filed, ensure_ascii=False).encode()) == set(markers())


def _search_everywhere(stack: Stack) -> list[str]:
    places: list[tuple[str, bytes]] = [
        (f"pg_dump of {s.service.name}", _pg_dump(database_url(s))) for s in stack.all
    ]
    places += [(f"log {s.log_file.name}", s.log_file.read_bytes()) for s in stack.all]
    stack_dir = Path(os.environ.get("HOTLINE_STACK_DIR", ROOT / ".cache" / "test-stack"))
    segments = [p for p in (stack_dir / "kafka" / "data").rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in segments), f"no Kafka log segments in {stack_dir}"
    places += [(f"kafka {p.relative_to(stack_dir)}", p.read_bytes()) for p in segments]
    return [
        f"{label} ({encoded!r}) in {where}"
        for where, content in places
        for label, encodings in markers().items()
        for encoded in encodings
        if encoded in content
    ]

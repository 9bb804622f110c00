"""Erasure (crypto-shredding) over real Kafka and PostgreSQL: a marker citizen files two
appeals, writing their name, number and a marker into the text too; one goes through to a
notice and a callback; their personal data is erased by phone; then every view (intake's,
the department's, audit's history and export) shows it erased, chains verify, a replay
comes out equal, and the marker's plaintext is in no database dump, no Kafka log segment
and no service log. Every read that showed it in clear is in an access log."""

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
# What only the text carries: found nowhere after erasure either.
WRITTEN = "".join(chr(_rng.randrange(0x4E00, 0x9FA5)) for _ in range(6))
SPACED_PHONE = f"{PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}"
ERASER = bearer("personal-data:erase")
AUDITOR = bearer("audit:read", "audit:personal-data")
MASKED_AUDITOR = bearer("audit:read")


def markers() -> dict[str, list[bytes]]:
    """Each piece of the marker in every encoding it could be stored or logged in."""
    found: dict[str, list[bytes]] = {}
    for label, text in (("name", NAME), ("address", ADDRESS), ("text", WRITTEN)):
        escaped = json.dumps(text)[1:-1]  # \uXXXX, as json.dumps writes it by default
        found[label] = [text.encode(), escaped.encode(), escaped.upper().encode()]
    found["phone"] = [PHONE.encode(), SPACED_PHONE.encode()]
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
        texts = [
            f"幸福小区停水两天。我是{NAME}，电话 {SPACED_PHONE}，{WRITTEN}",
            f"幸福小区又停水了，{WRITTEN}",
        ]
        for content in texts:
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
        assert shown["content"] == texts[0]  # sealed in the fact, opened for the front office

        # The first goes through: replied, approved (the citizen is told, at their phone),
        # called back and closed.
        orders = WorkOrders(client, stack, ids[0])
        await orders.when(lambda b: b["stage"] == "assigned")

        async def held_by_water() -> dict[str, Any] | None:
            got = await client.get(f"{stack.intake.url}/v1/appeals/{ids[0]}", headers=water)
            return dict(got.json()) if got.status_code == 200 else None

        handling = await polling.until(held_by_water, what="intake to know the holder")
        assert handling["content"] == texts[0]  # the department needs the text
        assert "citizen" not in handling  # but not who wrote it, nor their address or point
        assert {k: v for k, v in handling["location"].items() if v is not None} == {
            "district": "east"
        }
        await orders.act("sign-for", {"person": "李工"}, water)
        await orders.feedback_when(lambda b: b["signed_for"])
        await orders.reply(water, "已抢修，恢复供水")
        await orders.review("approved")
        said = f"{WRITTEN}，找{NAME}就行"  # the citizen's words on the callback, sealed too
        await orders.callback(
            {"reached": True, "satisfaction": "satisfied", "solved": True, "comment": said}
        )
        await orders.when(lambda b: b["stage"] == "closed")

        async def told() -> dict[str, Any] | None:
            notices = [json.loads(r.body) for r in citizen.requests]
            return next((n for n in notices if n["kind"] == "reply_approved"), None)

        notice = await polling.until(told, what="the citizen's reply notice")
        assert notice["phone"] == PHONE  # feedback opened it with intake's key to send

        history_url = f"{stack.audit.url}/v1/appeals/{ids[0]}/history"

        async def audited(*kinds: str) -> dict[str, Any] | None:
            body = (await client.get(history_url, headers=AUDITOR)).json()
            held = {f["type"] for f in body.get("facts", [])}
            return body if held >= set(kinds) else None

        # dispatch's close and feedback's rating come on different topics: wait for both
        before = await polling.until(
            lambda: audited("appeal.closed", "appeal.rated"), what="audit of the close"
        )
        for kind in ("appeal.callback_made", "appeal.rated"):
            [spoken] = [f for f in before["facts"] if f["type"] == kind]
            assert spoken["data"]["comment"] == said
        [received] = [f for f in before["facts"] if f["type"] == "appeal.received"]
        assert received["data"]["personal_data"]["name"] == NAME
        assert received["data"]["personal_data"]["state"] == "shown"
        assert received["data"]["content"] == texts[0]
        masked = (await client.get(history_url, headers=MASKED_AUDITOR)).json()
        [received] = [f for f in masked["facts"] if f["type"] == "appeal.received"]
        assert WRITTEN in received["data"]["content"]  # opened, then masked
        assert NAME not in received["data"]["content"]
        assert PHONE[3:7] not in received["data"]["content"]
        await _exported(client, stack, ids[0], texts[0])
        await _logged(client, stack, ids[0])

        # Erased by phone, written as the citizen said it: both appeals.
        erased = await client.post(
            f"{stack.intake.url}/v1/erasures",
            json={"phone": f"+86 {PHONE}", "basis": "citizen_request", "reference": "PIPL-T1"},
            headers=ERASER,
        )
        assert erased.status_code == 202, erased.text
        assert sorted(erased.json()["appeals"]) == sorted(ids)
        assert erased.json()["keys_destroyed"] == 1
        assert erased.json()["recorded_in_clear"] == []  # both filed sealed (v3)
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
            assert view["content"] is None
        erased_view = await client.get(f"{stack.intake.url}/v1/appeals/{ids[0]}", headers=water)
        assert erased_view.json()["content"] is None
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
        assert received["data"]["content"] is None
        assert received["data"]["sealed_content"] == {"state": "erased"}
        for kind in ("appeal.callback_made", "appeal.rated"):
            [spoken] = [f for f in after["facts"] if f["type"] == kind]
            assert (spoken["data"]["comment"], spoken["data"]["sealed_comment"]) == (
                None,
                {"state": "erased"},
            )
        await _exported(client, stack, ids[0], None)
        [record] = [f for f in after["facts"] if f["type"] == "appeal.personal_data_erased"]
        assert record["data"]["basis"] == "citizen_request"

        await _feedback_forgot(stack, ids)
        replay = await _replay(client, stack)
        assert replay["status"] == "equal", replay

    for service in stack.all:  # every line of every log is on disk
        service.stop()
    found = await asyncio.to_thread(_search_everywhere, stack)
    assert found == [], f"the erased citizen's plaintext is still stored: {found}"


async def _exported(
    client: httpx.AsyncClient, stack: Stack, appeal_id: str, text: str | None
) -> None:
    """audit's export opens the sealed data for audit:personal-data (erased: null) and masks
    it otherwise."""
    lines = {}
    for name, headers in (("opened", AUDITOR), ("masked", MASKED_AUDITOR)):
        export = await client.get(f"{stack.audit.url}/v1/exports/facts.jsonl", headers=headers)
        assert export.status_code == 200, export.text
        [lines[name]] = [
            record
            for line in export.text.splitlines()
            if (record := json.loads(line))["type"] == "appeal.received"
            and record["subject"] == appeal_id
        ]
    opened, masked = lines["opened"]["data"], lines["masked"]["data"]
    assert opened["content"] == text
    assert opened["personal_data"]["name"] == (NAME if text else None)
    assert opened["personal_data"]["state"] == ("shown" if text else "erased")
    assert "ciphertext" in masked["personal_data"]  # never opened without the scope
    if text is None:
        assert masked["content"] is None
    else:
        assert WRITTEN in masked["content"]
        assert NAME not in masked["content"]


async def _logged(client: httpx.AsyncClient, stack: Stack, appeal_id: str) -> None:
    """Who read the citizen's data in clear is on record where an auditor reads it: at
    audit (history, export) and at intake (the front office's and the department's views)."""
    audit_log = await client.get(f"{stack.audit.url}/v1/access-log", headers=MASKED_AUDITOR)
    seen = {(r["principal"], r["action"]) for r in audit_log.json()["items"]}
    assert {("operator:test", "appeal history"), ("operator:test", "export jsonl")} <= seen
    intake_log = await client.get(
        f"{stack.intake.url}/v1/access-log",
        params={"appeal_id": appeal_id},
        headers=MASKED_AUDITOR,
    )
    assert intake_log.status_code == 200, intake_log.text
    seen = {(r["principal"], r["action"]) for r in intake_log.json()["items"]}
    assert {("operator:test", "appeal view"), ("department:water", "appeal view")} <= seen
    assert all(r["appeal_id"] == appeal_id for r in intake_log.json()["items"])


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
    filed = appeal(f"x {WRITTEN}")
    assert _found_in(json.dumps(filed).encode()) == set(markers())  # \u escapes
    assert _found_in(json.dumps(filed, ensure_ascii=False).encode()) == set(markers())


def _still_there(paths: list[Path]) -> list[tuple[Path, bytes]]:
    """Each file's bytes, but for one gone since it was listed: the broker writes its
    checkpoints to a .tmp file and renames it, so one can vanish under the search."""
    found = []
    for path in paths:
        try:
            found.append((path, path.read_bytes()))
        except FileNotFoundError:
            continue
    return found


def _search_everywhere(stack: Stack) -> list[str]:
    places: list[tuple[str, bytes]] = [
        (f"pg_dump of {s.service.name}", _pg_dump(database_url(s))) for s in stack.all
    ]
    places += [(f"log {s.log_file.name}", s.log_file.read_bytes()) for s in stack.all]
    stack_dir = Path(os.environ.get("HOTLINE_STACK_DIR", ROOT / ".cache" / "test-stack"))
    segments = [p for p in (stack_dir / "kafka" / "data").rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in segments), f"no Kafka log segments in {stack_dir}"
    places += [(f"kafka {p.relative_to(stack_dir)}", data) for p, data in _still_there(segments)]
    return [
        f"{label} ({encoded!r}) in {where}"
        for where, content in places
        for label, encodings in markers().items()
        for encoded in encodings
        if encoded in content
    ]

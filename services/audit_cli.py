"""`hotline audit …`: the auditor's terminal, over audit's REST API.

  hotline audit timeline APPEAL_ID     an appeal's facts in causal order, chains verified
  hotline audit replay                 rebuild from offset 0, with progress, and compare
  hotline audit export jsonl|csv       every fact, streamed to standard output
  hotline audit switch-over --replay N the live projection becomes replay N's rebuilt one:
                                       as the database owner, not over the API

The audit service's address is HOTLINE_AUDIT_URL (default http://127.0.0.1:8004); the token
is HOTLINE_TOKEN, or a development token minted with the local key.
"""

import json
import os
import sys
import time
from typing import Any, TextIO

import httpx

from shared.runtime import auth
from shared.runtime.settings import ServiceSettings

SCOPES = ["audit:read", "audit:replay"]


def _client() -> httpx.Client:
    token = os.environ.get("HOTLINE_TOKEN") or auth.mint(
        ServiceSettings(service_name="cli", database_url="postgresql+asyncpg://unused/x"),
        subject="auditor:cli",
        scopes=SCOPES,
    )
    return httpx.Client(
        base_url=os.environ.get("HOTLINE_AUDIT_URL", "http://127.0.0.1:8004"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        detail = response.json().get("detail", response.text) if response.content else ""
        raise SystemExit(f"audit answered {response.status_code}: {detail}")
    return response.json()


def timeline(appeal_id: str, out: TextIO = sys.stdout) -> int:
    with _client() as client:
        history = _checked(client.get(f"/v1/appeals/{appeal_id}/history"))
    for fact in history["facts"]:
        out.write(
            f"{fact['position']:>3}  {fact['time'][:19]}  {fact['type']:<28} "
            f"{fact['source']:<9} v{fact['version']:<3} {fact['actor']}\n"
        )
    for chain in history["chains"]:
        state = "verified" if chain["verified"] else "BROKEN: " + "; ".join(chain["problems"])
        out.write(f"chain {chain['source']}: {chain['length']} facts, {state}\n")
    for finding in history.get("findings", []):
        at = finding["position"]
        out.write(
            f"FINDING {finding['kind']} at {at['topic']}[{at['partition']}]@{at['offset']}: "
            f"{finding['detail']}\n"
        )
    bounced = history["buck_passing"]
    out.write(
        f"departments: {' -> '.join(bounced['departments'])}; "
        f"returns {bounced['returns_requested']} (overruled "
        f"{bounced['returns_denied']}); flagged: {bounced['flagged']}\n"
    )
    return 0 if history["verified"] else 1


def replay(out: TextIO = sys.stderr, poll_seconds: float = 0.5) -> int:
    with _client() as client:
        started = _checked(client.post("/v1/replays"))
        total = None
        while True:
            status = _checked(client.get(started["href"]))
            total = total or sum(status["end_offsets"].values()) or 1
            out.write(
                f"\rreplay {status['id']}: {status['facts_read']}/{total} facts "
                f"[{'#' * int(30 * status['facts_read'] / total):<30}] {status['status']}"
            )
            if status["status"] != "running":
                break
            time.sleep(poll_seconds)
    out.write("\n" + json.dumps(status["report"], ensure_ascii=False, indent=2) + "\n")
    return 0 if status["status"] == "equal" else 1


def export(fmt: str, out: TextIO = sys.stdout) -> int:
    with _client() as client, client.stream("GET", f"/v1/exports/facts.{fmt}") as response:
        if response.status_code >= 400:
            raise SystemExit(f"audit answered {response.status_code}")
        for chunk in response.iter_text():
            out.write(chunk)
    return 0


async def switch_over(replay_id: int, *, by: str) -> int:
    """Connects as audit's owner (HOTLINE_MIGRATION_DATABASE_URL): the runtime role may only
    add facts, so only the owner can replace them. (Imported here: the other commands
    need only the REST API, not audit's database code.)"""
    from sqlalchemy.ext.asyncio import create_async_engine

    from audit_service import comparison
    from audit_service import switch_over as switching
    from audit_service.settings import AuditSettings
    from shared.runtime.settings import load

    engine = create_async_engine(load(AuditSettings).migration_url())
    try:
        try:
            record = await switching.switch_over(engine, replay_id, by=by)
        except switching.SwitchOverRefused as refused:
            print(f"switch-over refused: {refused}", file=sys.stderr)
            return 1
        print(json.dumps(record, default=str, ensure_ascii=False, indent=2))
        written = record["report"]
        report = await comparison.compare(engine, written["schema_name"], written["end_offsets"])
        print(f"live against rebuilt now: {'equal' if report['equal'] else 'DIFFERENT'}")
        return 0 if report["equal"] else 2
    finally:
        await engine.dispose()

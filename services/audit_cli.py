"""`hotline audit …`: the auditor's terminal.

  hotline audit timeline APPEAL_ID         an appeal's facts in causal order, chains verified
  hotline audit replay                     rebuild from offset 0, with progress, and compare
  hotline audit export jsonl|csv           every fact, streamed to standard output
  hotline audit verify --key K DOC...      check signed checkpoints, receipts and proofs
                                           OFFLINE: no database, no token, no network
  hotline audit switch-over --replay N     the live projection becomes replay N's rebuilt
                                           one: as the database owner, not over the API

timeline, replay and export use audit's REST API at HOTLINE_AUDIT_URL (default
http://127.0.0.1:8004) with the token in HOTLINE_TOKEN, or a development token minted with
the local key. Progress goes to standard error, with rate and time left.
"""

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO

import httpx
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from audit_service.domain import proofs, signing
from shared.runtime import auth
from shared.runtime.settings import ServiceSettings

SCOPES = ["audit:read", "audit:replay"]
DOCUMENT = TypeAdapter[proofs.Document](proofs.Document)

app = typer.Typer(
    help="The auditor's terminal. timeline, replay and export use audit's REST API at "
    "HOTLINE_AUDIT_URL (default http://127.0.0.1:8004) with the token in HOTLINE_TOKEN (else a "
    "development token); verify works offline, with audit's public key alone. Progress goes "
    "to standard error, with rate and time left.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def progress(out: TextIO, what: str) -> Progress:
    """A bar with count, rate and time left, on `out` (standard error by default)."""
    return Progress(
        TextColumn(f"{what} [progress.description]{{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(file=out, stderr=out is sys.stderr),
    )


def _rate(task_speed: float | None, unit: str) -> str:
    return f"{task_speed:,.0f} {unit}/s" if task_speed else f"- {unit}/s"


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
    with _client() as client, progress(out, "replay") as bar:
        started = _checked(client.post("/v1/replays"))
        task = bar.add_task(f"#{started['id']}", total=None, rate="")
        while True:
            status = _checked(client.get(started["href"]))
            total = sum(status["end_offsets"].values()) or 1
            bar.update(task, total=total, completed=min(status["facts_read"], total))
            bar.update(task, rate=_rate(bar.tasks[task].speed, "facts"))
            if status["status"] != "running":
                bar.update(task, description=f"#{started['id']} {status['status']}")
                break
            time.sleep(poll_seconds)
    out.write(json.dumps(status["report"], ensure_ascii=False, indent=2) + "\n")
    return 0 if status["status"] == "equal" else 1


def export(fmt: str, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    with (
        _client() as client,
        client.stream("GET", f"/v1/exports/facts.{fmt}") as response,
        progress(err, "export") as bar,
    ):
        if response.status_code >= 400:
            raise SystemExit(f"audit answered {response.status_code}")
        total = response.headers.get("X-Total-Count")
        task = bar.add_task(fmt, total=int(total) if total else None, rate="")
        # A fact is a line: JSON lines end in \n; csv rows in \r\n (a field may hold \n).
        ending, header = ("\n", 0) if fmt == "jsonl" else ("\r\n", 1)
        for chunk in response.iter_text():
            out.write(chunk)
            ended = chunk.count(ending)
            counted, header = max(0, ended - header), max(0, header - ended)
            bar.advance(task, counted)
            bar.update(task, rate=_rate(bar.tasks[task].speed, "facts"))
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


def public_keys(path: Path) -> list[Ed25519PublicKey]:
    """A PEM public key, or the JSON GET /v1/checkpoints/public-key answers (every key)."""
    text = path.read_text()
    if text.lstrip().startswith("{"):
        answer = json.loads(text)
        return [signing.public_from_pem(k["pem"].encode()) for k in answer["keys"]]
    return [signing.public_from_pem(text.encode())]


def documents(sources: list[str]) -> Iterator[proofs.Document]:
    """Each source ('-': standard input) holds one JSON document or JSON lines of them."""
    for source in sources:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        try:
            try:
                parsed = [json.loads(text)]
            except json.JSONDecodeError:  # JSON lines: one document a line
                parsed = [json.loads(line) for line in text.splitlines() if line.strip()]
            yield from (DOCUMENT.validate_python(item) for item in parsed)
        except (ValueError, ValidationError) as exc:
            detail = f"{source}: not a checkpoint, inclusion or consistency proof: {exc}"
            raise SystemExit(detail) from None


def verify(sources: list[str], key_file: Path, out: TextIO | None = None) -> int:
    """Check every document with the public key(s) alone; 0 only if all hold and no two
    signed checkpoints of one size disagree. Results to `out` (standard output), progress
    to standard error."""
    out = out or sys.stdout
    keys = public_keys(key_file)
    loaded = list(documents(sources))
    failures: list[str] = []
    with progress(sys.stderr, "verify") as bar:
        task = bar.add_task("documents", total=len(loaded), rate="")
        for document in loaded:
            for problem in proofs.problems(document, keys):
                failures.append(f"FAIL {document.kind}: {problem}")
            bar.advance(task)
            bar.update(task, rate=_rate(bar.tasks[task].speed, "docs"))
    failures += [f"FAIL fork: {problem}" for problem in proofs.forks(loaded)]
    failures += [f"FAIL link: {problem}" for problem in proofs.unlinked(loaded)]
    for line in failures:
        out.write(line + "\n")
    if not failures:
        sizes = sorted({c.size for c in proofs.checkpoints_in(loaded)})
        out.write(f"ok: {len(loaded)} document(s) verified; checkpoints {sizes}\n")
    return 1 if failures else 0


@app.command("timeline")
def _timeline(appeal_id: Annotated[str, typer.Argument(help="the appeal's id (UUID)")]) -> None:
    """An appeal's facts in causal order, each service's chain verified; exit 1 if not."""
    raise typer.Exit(timeline(appeal_id))


@app.command("replay")
def _replay(
    poll: Annotated[float, typer.Option(help="seconds between progress polls", min=0.05)] = 0.5,
) -> None:
    """Rebuild audit's projection from offset 0 and compare it with the live one, with a
    progress bar; exit 0 only when they are equal."""
    raise typer.Exit(replay(poll_seconds=poll))


@app.command("export")
def _export(
    fmt: Annotated[Literal["jsonl", "csv"], typer.Argument(help="jsonl or csv")],
) -> None:
    """Every recorded fact in recorded order to standard output, personal data masked
    unless the token has audit:personal-data; progress on standard error."""
    raise typer.Exit(export(fmt))


@app.command("verify")
def _verify(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="DOCUMENT",
            help="files ('-' for standard input) holding a JSON document, or JSON lines of "
            "them, as audit's API answers: a signed checkpoint (GET /v1/checkpoints/{size}), "
            "a receipt or inclusion proof (GET /v1/receipts/{fact_hash}), a consistency "
            "proof (GET /v1/checkpoints/consistency)",
        ),
    ],
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            exists=True,
            dir_okay=False,
            help="audit's public key: PEM, or the JSON of GET /v1/checkpoints/public-key",
        ),
    ],
) -> None:
    """Check signatures, inclusion and consistency proofs offline with the public key
    alone (docs/receipts.md); exit 0 only if every one holds."""
    raise typer.Exit(verify(sources, key))


@app.command("switch-over")
def _switch_over(
    replay_id: Annotated[int, typer.Option("--replay", help="the finished replay's id", min=1)],
    by: Annotated[
        str, typer.Option(help="who asks, recorded with the switch-over")
    ] = os.environ.get("USER", "owner"),
) -> None:
    """As audit's database owner (HOTLINE_MIGRATION_DATABASE_URL): make replay N's rebuilt
    projection the live one, under an exclusive ingest lock, recorded append-only; exit 0
    when live now equals rebuilt, 2 when not, 1 when refused."""
    raise typer.Exit(asyncio.run(switch_over(replay_id, by=f"operator:{by}")))

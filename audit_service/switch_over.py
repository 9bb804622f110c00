"""A replay's switch-over: the live projection becomes the rebuilt one.

Run by the database's owner (`hotline audit switch-over --replay N`): the runtime role may
only add facts, by design, so nothing the service itself runs can rewrite them. In one
transaction, holding the ingest lock exclusively (ingest holds it shared per fact, so it
waits, losing nothing: it commits each fact only after, and Kafka redelivers anything not
committed), every live row is set against the rebuilt row with its event id:

- both, equal in every column the log decides and the live row passes its check
  (domain/records.py): kept;
- both, but the live row differs or fails its check: *replaced* by the rebuilt row. If the
  live seal still proves the row's record time and place for the true bytes, those are kept
  (the Merkle leaf stays where it was); otherwise the row is recorded again now, at the end;
- only rebuilt: *added* (recorded now);
- only live, at a position the replay covered: *removed* (the log never held it). A live row
  past the replay's end offsets is left alone: a later replay covers it.

The runtime role owns the replay's schema and may update its record, so nothing is switched
unless every rebuilt row passes its check and the replay's seal (its schema, end offsets,
outcome and row count, sealed when it finished) holds.

The switch-over is recorded with every changed row (append-only tables), and a
`tampered_row` finding about a fact replaced afterwards no longer keeps its history from
verifying (routes/history.py); the finding itself stays.
"""

import hmac
from typing import Any, Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import sealing, store
from audit_service.domain import records
from audit_service.store import switch_overs as db
from audit_service.store.facts import seal_fresh

# Columns whose values come from the log (the rest, ingested_at, seq and seal, from audit).
FROM_LOG: Final = (
    "event_id", "source", "type", "subject", "version", "time", "actor", "causation_id",
    "hash", "prev_hash", "body", "topic", "partition", "offset",
)  # fmt: skip
FINISHED: Final = ("equal", "different")
CHANGES: Final = ("replaced", "added", "removed")
REPORTED: Final = ("live_digest", "replay_digest", "differing_appeals")


class SwitchOverRefused(Exception):
    pass


def _side(row: Any, prefix: str) -> dict[str, Any] | None:
    values = {k.removeprefix(prefix): v for k, v in row._mapping.items() if k.startswith(prefix)}
    return None if values["event_id"] is None else values


def _covered(live: dict[str, Any], end_offsets: dict[str, int]) -> bool:
    return int(live["offset"]) < end_offsets.get(f"{live['topic']}:{live['partition']}", 0)


def _proven_place(live: dict[str, Any], rebuilt: dict[str, Any], key: bytes) -> bool:
    """Whether the live seal proves its record time and place for the rebuilt bytes."""
    expected = records.seal(
        key, event_id=rebuilt["event_id"], hash=rebuilt["hash"], topic=rebuilt["topic"],
        partition=rebuilt["partition"], offset=rebuilt["offset"],
        ingested_at=live["ingested_at"], seq=live["seq"],
    )  # fmt: skip
    return live["seal"] is not None and hmac.compare_digest(expected, str(live["seal"]))


def _sealed(replay: dict[str, Any], rows: int, key: bytes) -> None:
    """Refuse a replay whose record, or whose table's row count, is not what it sealed."""
    expected = records.replay_seal(
        key, replay_id=replay["id"], schema_name=replay["schema_name"], status=replay["status"],
        end_offsets=replay["end_offsets"], rows=rows,
    )  # fmt: skip
    if replay["seal"] is None or not hmac.compare_digest(expected, str(replay["seal"])):
        raise SwitchOverRefused(
            f"replay {replay['id']}'s record or its table ({rows} rows) is not what the replay "
            "sealed when it finished (edited since, or finished before replays were sealed): "
            "run a new replay"
        )


async def _changes(
    conn: AsyncConnection, replay: dict[str, Any], key: bytes
) -> tuple[list[dict[str, Any]], dict[UUID, dict[str, Any]]]:
    """Every row to change, and the live rows whose record time and place stay. Refused
    unless every rebuilt row passes its check and the replay's seal holds."""
    ends: dict[str, int] = replay["end_offsets"]
    changes: list[dict[str, Any]] = []
    keep_place: dict[UUID, dict[str, Any]] = {}
    rebuilt_rows = 0
    async for row in db.live_and_rebuilt(conn, replay["schema_name"]):
        live, rebuilt = _side(row, "live_"), _side(row, "rebuilt_")
        if rebuilt is not None:
            rebuilt_rows += 1
            if problems := records.from_row(rebuilt, key).problems:
                raise SwitchOverRefused(
                    f"replay {replay['id']}'s row for fact {rebuilt['event_id']} fails its "
                    f"check ({'; '.join(problems)}): run a new replay"
                )
        if rebuilt is None:
            assert live is not None
            if _covered(live, ends):
                checked = records.from_row(live, key)
                changes.append(_change(live, checked.subject, "removed", checked.problems))
        elif live is None:
            changes.append(_change(rebuilt, rebuilt["subject"], "added", ()))
        else:
            problems = records.from_row(live, key).problems
            differs = [
                f"column {c} differs from the log" for c in FROM_LOG if live[c] != rebuilt[c]
            ]
            if problems or differs:
                changes.append(
                    _change(rebuilt, rebuilt["subject"], "replaced", (*problems, *differs))
                )
                if _proven_place(live, rebuilt, key):
                    keep_place[rebuilt["event_id"]] = live
    _sealed(replay, rebuilt_rows, key)
    return changes, keep_place


async def switch_over(owner: AsyncEngine, replay_id: int, *, by: str) -> dict[str, Any]:
    """Switch the live projection over to replay `replay_id`'s; returns the record."""
    key = sealing.key()
    async with owner.begin() as conn:
        await db.take_switch_over_lock(conn)
        replay = await store.get_replay(conn, replay_id)
        if replay is None or replay["status"] not in FINISHED:
            raise SwitchOverRefused(f"replay {replay_id} has not finished (or does not exist)")
        if replay["status"] == "equal":
            # An in-place replay (in_place.py) rebuilt nothing: switching over to its empty
            # schema would remove every live row. An equal rebuild would change nothing.
            raise SwitchOverRefused(
                f"replay {replay_id} found the live projection equal to the log: "
                "there is nothing to switch over"
            )
        if await db.switched_over(conn, replay_id):
            raise SwitchOverRefused(f"replay {replay_id} was switched over already")
        changes, keep_place = await _changes(conn, replay, key)
        await db.remove_live(conn, [c["event_id"] for c in changes if c["change"] != "added"])
        wanted = [c["event_id"] for c in changes if c["change"] != "removed"]
        fresh = await db.rebuilt_rows(conn, replay["schema_name"], wanted)
        own = ("ingested_at", "seq", "seal")
        kept = [
            {**row, **{c: keep_place[row["event_id"]][c] for c in own}}
            for row in fresh
            if row["event_id"] in keep_place
        ]
        # The rebuilt columns under the live record time and place.
        records.add_row_seals(key, kept)
        again = [
            {c: row[c] for c in FROM_LOG} for row in fresh if row["event_id"] not in keep_place
        ]
        await db.insert_live(conn, kept + await seal_fresh(conn, again))
        before = replay["report"] or {}
        values = {
            "replay_id": replay_id,
            "switched_by": by,
            **{kind: sum(c["change"] == kind for c in changes) for kind in CHANGES},
            "report": {
                "schema_name": replay["schema_name"],
                "end_offsets": replay["end_offsets"],
                "replay_report": {k: before.get(k) for k in REPORTED},
                "kept_record_place": len(kept),
                "recorded_again": len(again),
            },
        }
        switch_id = await db.record_switch_over(conn, values, changes)
    return {"id": switch_id, **values}


def _change(
    fact: dict[str, Any], appeal_id: UUID | None, kind: str, problems: Any
) -> dict[str, Any]:
    return {
        "event_id": fact["event_id"],
        "appeal_id": appeal_id,
        "change": kind,
        "problems": list(problems),
    }

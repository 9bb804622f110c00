"""Filing an appeal, whatever the channel (POST /v1/appeals, Open311): the citizen's personal
data sealed under their key, classified by the catalogue's rules, possible repeats flagged by
blind index, recorded on a new stream and, unless held, forwarded to dispatch."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from uuid import UUID

from intake_service import commands, domain, personal, store
from intake_service.domain import rules
from shared import events
from shared.decisions import Context
from shared.runtime.commands import execute
from shared.runtime.eventstore import Tx
from shared.runtime.problems import invalid_field

DEFAULT_REPEAT_WINDOW: Final = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class Filed:
    """A filed appeal as its filing transaction knows it: no need to read the row back."""

    received: events.AppealReceived
    status: str
    description: store.Description
    repeat_candidates: list[UUID]  # what its row found, in the statement of its facts
    received_hash: str  # what a citizen's receipt proves was accepted


async def file(
    tx: Tx,
    appeal: domain.NewAppeal,
    *,
    context: Context,
    keyring: personal.Keyring,
    extras: dict[str, Any] | None = None,
    hold: bool = False,
    repeat_window: timedelta = DEFAULT_REPEAT_WINDOW,
) -> Filed:
    """Accept an appeal in the caller's transaction (every channel files through here):
    seal the citizen's data, classify, flag repeats, record and, unless held, forward. A
    category the caller names must be in the catalogue version in force (422)."""
    # First: the citizen's key is found or made in the round trip that also reads the
    # catalogue version in force, which the category is checked against and classified by.
    sealing = await personal.seal_citizen(tx, keyring, appeal, now=context.now)
    await commands.known_category(tx, appeal.category)
    current = await store.current_catalogue(tx)
    try:
        classified = rules.classify(
            None if current is None else current[1],
            text=appeal.content,
            category=appeal.category,
            urgency=appeal.urgency,
        )
    except rules.NoCategoryError as exc:
        raise invalid_field("body.category", str(exc), "no_category") from exc
    appeal_id = context.new_id()
    # The appeals it may repeat are found by its row's insert, in the statement of its facts.
    description = store.Description(
        extras=extras,
        classification=classified.as_dict(),
        repeats=store.RepeatSearch(
            **sealing.indexes(), category=classified.category, since=context.now - repeat_window
        ),
    )
    outcome = await execute(
        tx,
        commands.filing(description),
        appeal_id,
        lambda _, ctx: domain.receive(
            appeal,
            category=classified.category,
            urgency=classified.urgency,
            hold=hold,
            appeal_id=appeal_id,
            personal_data=sealing.personal_data,
            content=sealing.content,
            context=ctx,
        ),
        context=context,
        expected_version=0,
        loaded=(None, 0),  # a new id: there is no stream to read (the append's key checks)
    )
    received = outcome.new[0]
    assert isinstance(received, events.AppealReceived)
    return Filed(
        received,
        status=commands.filed_progress(outcome.new)[0][1],
        description=description,
        repeat_candidates=store.repeats_found(tx, appeal_id),
        received_hash=tx.appended_hashes[received.id],
    )


async def file_appeal(
    tx: Tx,
    appeal: domain.NewAppeal,
    *,
    context: Context,
    keyring: personal.Keyring,
    extras: dict[str, Any] | None = None,
    hold: bool = False,
    repeat_window: timedelta = DEFAULT_REPEAT_WINDOW,
) -> events.AppealReceived:
    """`file`, for callers that need only the fact."""
    filed = await file(
        tx,
        appeal,
        context=context,
        keyring=keyring,
        extras=extras,
        hold=hold,
        repeat_window=repeat_window,
    )
    return filed.received

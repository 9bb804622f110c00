"""intake's commands: the front office's decisions on an appeal (filing is `filing`'s). Each runs
through `shared.runtime.commands.execute` on the appeal's stream, whose `project` keeps the
appeals row and the Open311 update feed in step in the same transaction."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final, Literal
from uuid import UUID

from intake_service import domain, projection, store
from intake_service.open311 import updates as open311_updates
from intake_service.store import knowledge as kb
from shared import events
from shared.decisions import Context
from shared.runtime import commands, preconditions
from shared.runtime.commands import Aggregate, Decide, Outcome
from shared.runtime.eventstore import Tx
from shared.runtime.problems import Problem, invalid_field, not_found

SERVICE_ACTOR: Final = "service:intake"
State = domain.Appeal | None


def filed_progress(new: Sequence[events.Event]) -> tuple[tuple[int, str, datetime], dict[str, str]]:
    """(round, status, since) and the stage times a new appeal's facts leave it at, folded
    in memory as `projection.advance` would move its row fact by fact."""
    received = new[0]
    progress: tuple[int, str] = (1, "received")
    since, stages = received.time, {"received": received.time.isoformat()}
    for event in new[1:]:
        after = domain.progress_after(event, progress[0])
        if after is not None and domain.applies(event, progress, new=after):
            progress, since = after, event.time
            stages[after[1]] = event.time.isoformat()
    return (*progress, since), stages


def filing(description: store.Description) -> Aggregate[State, Tx]:
    """APPEAL as a filing projects it: the new row written once, with the status its facts
    leave it at and what filing knew beyond them, and its Open311 updates in one insert
    (the row is this transaction's own: nothing to lock or read back), both carried by the
    append's statement."""

    async def project(tx: Tx, _: State, new: Sequence[events.Event], version: int) -> None:
        received = new[0]
        if version != len(new) or not isinstance(received, events.AppealReceived):
            raise ValueError("a filing begins a new appeal's stream")
        progress, stages = filed_progress(new)
        store.hold_new(tx, received, progress=progress, stages=stages, description=description)
        open311_updates.hold_fresh(tx, new)

    return replace(APPEAL, project=project, project_first=True)


APPEAL: Aggregate[State, Tx] = Aggregate(
    what="appeal", initial=None, evolve=domain.evolve, project=projection.project
)


async def settle_withdrawal(tx: Tx, answer: events.Withdrawn | events.WithdrawalRefused) -> None:
    """dispatch's answer to a withdrawal request: the pending outcome recorded (the work order
    is withdrawn) or abandoned (its department signed for it), caused by the answer."""
    await store.lock_progress(tx, answer.subject)  # ordered with a merge into this appeal

    def decision(appeal: State, ctx: Context) -> list[events.Event]:
        if isinstance(answer, events.Withdrawn):
            return domain.confirm(appeal, context=ctx)
        return domain.abandon(appeal, reason=answer.reason, context=ctx)

    context = Context(actor=SERVICE_ACTOR, now=datetime.now(UTC), causation_id=answer.id)
    await commands.execute(tx, APPEAL, answer.subject, decision, context=context)


async def known_category(tx: Tx, category: str | None) -> int | None:
    """The catalogue version in force, once `category` is known to be one of its codes (before
    the first version any code is accepted, as it was before the catalogue existed)."""
    current = await store.current_catalogue(tx)
    if current is None:
        return None
    if category is not None and current[1].find(category) is None:
        message = f"unknown category {category!r}: not in appeal catalogue version {current[0]}"
        raise invalid_field("body.category", message, "unknown_category")
    return current[0]


async def decide(
    tx: Tx, appeal_id: UUID, decision: Decide[State], *, context: Context, if_match: str | None
) -> Outcome[State]:
    """A front-office decision on the appeal as the operator saw it (If-Match names that
    version: missing 428, stale 412), recorded with its projection."""
    # The row lock orders this decision with a merge into or out of the same appeal.
    await store.lock_progress(tx, appeal_id)
    loaded = await commands.load(tx, APPEAL, appeal_id)
    if loaded[0] is None:
        raise not_found("appeal", appeal_id)
    expected = preconditions.expected_version(if_match, "appeal")
    return await commands.execute(
        tx, APPEAL, appeal_id, decision, context=context, expected_version=expected, loaded=loaded
    )


async def classify(
    tx: Tx,
    appeal_id: UUID,
    *,
    category: str,
    appeal_type: events.AppealType | None,
    urgency: events.Urgency | None,
    reason: str,
    context: Context,
    if_match: str | None,
) -> Outcome[State]:
    version = await known_category(tx, category)

    def decision(appeal: State, ctx: Context) -> list[events.Event]:
        held = domain.held(appeal)
        return domain.classify(
            held,
            category=category,
            appeal_type=appeal_type or held.appeal_type,
            urgency=urgency or held.urgency,
            reason=reason,
            catalogue_version=version,
            context=ctx,
        )

    return await decide(tx, appeal_id, decision, context=context, if_match=if_match)


async def forward(
    tx: Tx, appeal_id: UUID, *, context: Context, if_match: str | None
) -> Outcome[State]:
    return await decide(tx, appeal_id, domain.forward, context=context, if_match=if_match)


async def answer(
    tx: Tx,
    appeal_id: UUID,
    *,
    article_id: str | None,
    article_version: int | None,
    text: str | None,
    context: Context,
    if_match: str | None,
) -> Outcome[State]:
    """From an article (its version in force unless one is named; its body is the answer
    unless one is written), or a three-party call's note as `text` alone."""
    cited: tuple[str, int] | None = None
    if article_id is not None:
        article = await kb.article(tx, article_id, article_version)
        if article is None:
            field = "body.article_id" if article_version is None else "body.article_version"
            raise invalid_field(field, "no such knowledge-base article (version)")
        if article_version is None and not article["active"]:
            raise invalid_field("body.article_id", "the article is retired")
        cited, text = (article["id"], article["version"]), text or article["body"]
    elif article_version is not None:
        raise invalid_field("body.article_id", "an article version needs the article's id")
    if text is None:
        raise invalid_field("body.answer", "without an article, the answer must be written")
    written = text
    has_children = await store.joined_or_joining(tx, appeal_id)
    return await decide(
        tx,
        appeal_id,
        lambda appeal, ctx: domain.answer(
            appeal, article=cited, text=written, has_children=has_children, context=ctx
        ),
        context=context,
        if_match=if_match,
    )


async def transfer(
    tx: Tx,
    appeal_id: UUID,
    *,
    line: events.EmergencyLine,
    mode: Literal["one_click", "three_party_call"],
    external_reference: str,
    context: Context,
    if_match: str | None,
) -> Outcome[State]:
    has_children = await store.joined_or_joining(tx, appeal_id)
    return await decide(
        tx,
        appeal_id,
        lambda appeal, ctx: domain.transfer(
            appeal,
            line=line,
            mode=mode,
            external_reference=external_reference,
            has_children=has_children,
            context=ctx,
        ),
        context=context,
        if_match=if_match,
    )


async def reject(
    tx: Tx,
    appeal_id: UUID,
    *,
    reason: str,
    legal_route: events.LegalRoute,
    explanation: str,
    context: Context,
    if_match: str | None,
) -> Outcome[State]:
    has_children = await store.joined_or_joining(tx, appeal_id)
    return await decide(
        tx,
        appeal_id,
        lambda appeal, ctx: domain.reject(
            appeal,
            reason=reason,
            legal_route=legal_route,
            explanation=explanation,
            has_children=has_children,
            context=ctx,
        ),
        context=context,
        if_match=if_match,
    )


async def merge(
    tx: Tx,
    appeal_id: UUID,
    *,
    parent: UUID,
    reason: str,
    context: Context,
    if_match: str | None,
) -> Outcome[State]:
    # Both rows locked, in one order for all: "A into B" racing "B into C" (or B being
    # answered) would otherwise each pass on what the other has not committed yet.
    for locked in sorted({appeal_id, parent}):
        await store.lock_progress(tx, locked)
    joined, _ = await commands.load(tx, APPEAL, parent)
    shown = await store.get(tx, parent)
    if shown is not None and shown["status"] == "closed":  # e.g. its work order closed
        raise Problem(409, "Conflict", f"appeal {parent} is closed: nothing to join")
    has_children = await store.joined_or_joining(tx, appeal_id)
    return await decide(
        tx,
        appeal_id,
        lambda child, ctx: domain.merge(
            child, joined, child_has_children=has_children, reason=reason, context=ctx
        ),
        context=context,
        if_match=if_match,
    )


async def unmerge(
    tx: Tx, appeal_id: UUID, *, reason: str, context: Context, if_match: str | None
) -> Outcome[State]:
    return await decide(
        tx,
        appeal_id,
        lambda appeal, ctx: domain.unmerge(appeal, reason=reason, context=ctx),
        context=context,
        if_match=if_match,
    )

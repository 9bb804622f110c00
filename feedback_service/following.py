"""How a decision sees an appeal's feedback: its own stream's state, or, for a merged child
(并单), its parent's reply and review with the child's own callbacks and rating. A child's
decisions are recorded on its own stream, refused if any is the parent's to make."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from feedback_service import domain
from shared import events
from shared.runtime.eventstore import Tx


@dataclass(frozen=True, slots=True)
class Seen:
    appeal_id: UUID
    parent: UUID | None = None
    followed: domain.Feedback | None = None  # the parent's state, for a merged child

    def view(self, own: domain.Feedback) -> domain.Feedback:
        return own if self.followed is None else domain.as_merged_child(self.followed, own)

    def own_facts(self, new: Sequence[events.Event]) -> list[events.Event]:
        if self.parent is None or self.followed is None:
            return list(new)
        return domain.childs_own(
            new, child=self.appeal_id, parent=self.parent, handled_by=self.followed.handled_by
        )


async def seen(tx: Tx, appeal_id: UUID, parent: UUID | None) -> Seen:
    """How decisions on `appeal_id`, merged into `parent` (or not: None), see it."""
    if parent is None:
        return Seen(appeal_id)
    followed, _ = await tx.load_state(parent, domain.evolve, domain.Feedback())
    return Seen(appeal_id, parent, followed)

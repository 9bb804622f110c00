"""What every decision is given besides the state it decides on: who, when, which new ids,
and what caused it. Pure: domain modules import it; the runtime builds it."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Self
from uuid import UUID, uuid4


@dataclass(frozen=True, slots=True)
class Context:
    """One decision's context. `now` is passed in (never read from a clock inside the domain),
    so a decision is a function of its inputs and tests pass the time they mean."""

    actor: str
    now: datetime
    causation_id: UUID | None = None
    new_id: Callable[[], UUID] = field(default=uuid4, compare=False)

    def caused_by(self, causation_id: UUID) -> Self:
        return replace(self, causation_id=causation_id)

"""Erasing a citizen's personal data from an appeal: the fact that records it. Pure."""

from uuid import UUID

from intake_service.domain.appeal import Appeal, fact
from shared import events
from shared.decisions import Context
from shared.errors import NotFoundError


def erase(
    appeal: Appeal | None,
    *,
    erasure_id: UUID,
    key_id: UUID | None,
    basis: events.ErasureBasis,
    reference: str | None,
    context: Context,
) -> list[events.Event]:
    """Recorded at any stage, merged or not: erasure is the citizen's right whatever became
    of the appeal. The fact names the key destroyed, never the data."""
    if appeal is None:
        raise NotFoundError("no such appeal")
    return [
        fact(
            events.PersonalDataErased,
            appeal,
            context=context,
            erasure_id=erasure_id,
            key_id=key_id,
            basis=basis,
            reference=reference,
        )
    ]

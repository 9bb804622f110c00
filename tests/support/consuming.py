"""Records as the consume loop reads them, applied by a `ConsumeLoop` without Kafka: the
batch path (`_apply_batch`), with its redo record by record and its parking, on a real
database."""

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from shared import envelope
from shared.runtime import faults
from shared.runtime.consumer import ConsumeLoop
from shared.runtime.database import Database


def records(*facts: envelope.Recorded, topic: str) -> list[Any]:
    return [
        record(fact.body, topic, fact.event.subject, offset) for offset, fact in enumerate(facts)
    ]


def record(body: bytes, topic: str, key: Any, offset: int) -> Any:
    return SimpleNamespace(
        topic=topic, partition=0, offset=offset, key=str(key).encode(), value=body, headers=[]
    )


async def apply(url: str, batch: Sequence[Any], *, one_by_one: bool = False, **spec: Any) -> None:
    """Apply the records as one batch (or one record per batch), as group "g"."""
    engine = create_async_engine(url)
    loop = ConsumeLoop(
        Database(engine), lambda: None, group="g", service="test", crash=faults.CrashPoints(None),
        **spec,
    )  # fmt: skip
    try:
        for each in [[r] for r in batch] if one_by_one else [list(batch)]:
            await loop._apply_batch(each, asyncio.Event())
    finally:
        await engine.dispose()

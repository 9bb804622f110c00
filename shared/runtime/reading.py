"""The consume loop's side facing Kafka: what one pass reads, and when offsets move.

A pass takes what the fetcher holds, after the loop's `Linger` (shared.runtime.pacing) when
records keep coming; a lingering loop's fetches are held at the broker as long
(shared.runtime.kafka.consumer), so what reached it meanwhile comes in that one fetch.
Offsets move only for records committed in PostgreSQL, at most once per
`pacing.COMMIT_SECONDS` while records keep coming, within QUIET_MS once they stop, before
the partitions go to another member and when the loop stops.
"""

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    IllegalStateError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)

from shared.runtime import pacing

log = logging.getLogger("hotline.consumer")

BATCH_SIZE = 500
FETCH_MS = 500  # a fetch's long poll when no offsets are pending
QUIET_MS = 50  # with offsets pending, this long without a record commits them

Fetched = dict[TopicPartition, list[Any]]


class Reader:
    def __init__(self, consumer: AIOKafkaConsumer, linger: pacing.Linger) -> None:
        self.consumer = consumer
        self._linger = linger
        self._offsets = pacing.OffsetCommits()
        self._committing: asyncio.Future[None] | None = None  # the offset commit in flight
        self._full = False  # the last pass took BATCH_SIZE records

    async def fetch(self, stop: "asyncio.Future[Any]") -> Fetched | None:
        """The next pass's records (none when the loop ran dry or pending offsets came due
        first, and those are then committed); None once stopping."""
        # A backlog (the last pass full) is read without a linger.
        if not self._full:
            await self._linger.until_due(stop)
        due = self._offsets.due_in()
        timeout_ms = FETCH_MS if due is None else min(QUIET_MS, int(due * 1000))
        fetch = asyncio.ensure_future(
            self.consumer.getmany(timeout_ms=timeout_ms, max_records=BATCH_SIZE)
        )
        # Records or the stop, whichever comes first: a stopping replica leaves its group
        # at once rather than after the fetch times out.
        await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not fetch.done():
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return None
        fetched: Fetched = fetch.result()
        self._full = sum(map(len, fetched.values())) >= BATCH_SIZE
        if not fetched:  # quiet: what is applied is committed before waiting on
            await self._start_commit()
            return fetched
        self._linger.found_work()
        return fetched

    def applied(self, batch: Fetched) -> None:
        """These records are committed in PostgreSQL: their offsets may move."""
        self._offsets.applied({tp: records[-1].offset + 1 for tp, records in batch.items()})

    async def commit_if_due(self) -> None:
        if self._offsets.due_in() == 0:
            await self._start_commit()

    async def commit_now(self) -> None:
        """Every applied offset committed before returning (a stop, a rebalance)."""
        await self._start_commit()
        if self._committing is not None:
            await self._committing

    async def _start_commit(self) -> None:
        """Commit the pending offsets while the next batch applies; one commit in flight at
        a time, so offsets move in order (and a failed one fails the loop here)."""
        if self._committing is not None:
            await self._committing
        self._offsets.keep(self.consumer.assignment())  # one gone is its new owner's
        if offsets := self._offsets.take():
            self._committing = asyncio.ensure_future(self._commit(offsets))

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Move the offsets; if a rebalance took a partition meanwhile, let it go: its new
        owner reads the batch again and the inbox skips every fact this replica applied."""
        try:
            await self.consumer.commit(offsets)
        except (
            CommitFailedError,
            IllegalGenerationError,
            IllegalStateError,  # the partition is no longer assigned to this member
            RebalanceInProgressError,
            UnknownMemberIdError,
        ) as exc:
            log.warning(
                "offset commit lost to a rebalance; the new owner re-reads the batch",
                extra={"partitions": sorted(map(str, offsets)), "error": str(exc)},
            )

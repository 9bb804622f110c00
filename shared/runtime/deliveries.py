"""What the consume loop (shared.runtime.consumer) hands a service and takes from it: the
handler and hook types, a fact with where it was read, which faults it retries, and how a
fetch splits into batches."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from shared import envelope, events
from shared.runtime.commands import StaleStreamError
from shared.runtime.eventstore import ConcurrencyError, Tx

Handler = Callable[[Any, Tx], Awaitable[None]]
Handlers = Mapping[type[events.Event], Handler]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A decoded fact with where it was read from (for audit's own bookkeeping)."""

    fact: envelope.Recorded
    topic: str
    partition: int
    offset: int


FactHook = Callable[[Delivery, Tx], Awaitable[None]]
# Sees every record parked, with the reason, in the transaction that parks it (audit keeps
# forged and undecodable facts as integrity findings).
ParkHook = Callable[[Any, str, Tx], Awaitable[None]]
# `FactHook` as on_duplicate sees every fact whose id this group already applied (audit
# compares it with the one it holds: an id reused with other content is a rewrite).


class TransientError(Exception):
    """Raise from a handler for a fault worth retrying (the record is not parked)."""


def is_race(exc: BaseException) -> bool:
    """A lost race to append: a route wrote the same stream since the batch read it."""
    return isinstance(exc, ConcurrencyError | StaleStreamError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # A lost race to append (a route wrote the same stream since the batch read it): the
    # batch is decided again on the stream as it now is, never parked.
    return isinstance(
        exc,
        TransientError
        | ConcurrencyError
        | StaleStreamError
        | OperationalError
        | InterfaceError
        | OSError
        | KafkaError
        | TimeoutError,
    )


def by_topic(
    fetched: dict[TopicPartition, list[Any]], assigned: set[TopicPartition]
) -> list[dict[TopicPartition, list[Any]]]:
    """A fetch as one batch per topic, each partition's records in order (an appeal's facts
    share a partition). Per partition, a steady rate makes batches of a record or two, each
    paying a transaction and an offset commit; topics stay apart, as handlers hold one
    topic's writes. A partition revoked since the fetch is left to its new owner."""
    batches: dict[str, dict[TopicPartition, list[Any]]] = {}
    for tp, records in fetched.items():
        if tp in assigned and records:
            batches.setdefault(tp.topic, {})[tp] = records
    return list(batches.values())

"""The event-store behaviour suite against the in-memory store that domain and command tests
use: the same promises as PostgreSQL's (tests/integration/test_eventstore_suite.py)."""

import pytest

from shared.runtime.memory import MemoryDatabase
from tests.support.eventstore_suite import EventStoreSuite, Store
from tests.unit import factories


class TestMemoryEventStore(EventStoreSuite):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryDatabase()


async def test_a_task_blocking_on_its_own_open_transaction_fails_instead_of_hanging() -> None:
    """PostgreSQL would wait forever; the memory store says why at once."""
    db = MemoryDatabase()
    r = factories.received()
    async with db.transaction() as first:
        await first.append(r.subject, [r], expected_version=0)
        with pytest.raises(RuntimeError, match="deadlock"):
            async with db.transaction() as second:
                await second.append(r.subject, [factories.received(r.subject)], expected_version=0)
    assert [x.event for x in db.snapshot()[r.subject]] == [r]

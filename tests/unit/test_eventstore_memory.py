"""The event-store behaviour suite against the in-memory store that domain and command tests
use: the same promises as PostgreSQL's (tests/integration/test_eventstore_suite.py)."""

import pytest

from shared.runtime.memory import MemoryDatabase
from tests.support.eventstore_suite import EventStoreSuite, Store


class TestMemoryEventStore(EventStoreSuite):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryDatabase()

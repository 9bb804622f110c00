"""The event-store behaviour suite against PostgreSQL: the same promises the in-memory store
keeps (tests/unit/test_eventstore_memory.py)."""

import pytest

from shared.runtime.database import Database
from tests.support.eventstore_suite import EventStoreSuite, Store

pytestmark = pytest.mark.integration


class TestPostgresEventStore(EventStoreSuite):
    @pytest.fixture
    def store(self, db: Database) -> Store:
        return db

import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from intake_service.main import MIGRATIONS as INTAKE_MIGRATIONS
from shared.runtime.eventstore import Database
from tests.support import infra

# Unset means production (which refuses the built-in keys the tests sign with): the tests
# name their environment explicitly, for themselves and every process they start.
os.environ["HOTLINE_ENVIRONMENT"] = "test"


@pytest.fixture(scope="session")
async def servers() -> None:
    await infra.require_servers()


@pytest.fixture
async def db(servers: None) -> AsyncIterator[Database]:
    """A fresh database with the runtime tables (intake's migrations), on real PostgreSQL."""
    url = await infra.fresh_database("t_store", INTAKE_MIGRATIONS)
    engine = create_async_engine(url, pool_size=20)
    yield Database(engine)
    await engine.dispose()

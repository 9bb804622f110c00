"""A filing's round trips on real PostgreSQL: how many statements it makes, and that the
catalogue version it reads beside the citizen's key is the one in force when it runs."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import measure
from intake_service import catalogue_seed, domain, filing, personal, store
from intake_service.catalogue import Catalogue
from intake_service.main import MIGRATIONS
from intake_service.settings import IntakeSettings
from shared import events
from shared.decisions import Context
from shared.runtime.database import Database
from shared.runtime.problems import Problem
from tests.support import infra
from tests.unit import factories

pytestmark = pytest.mark.integration

KEYRING = personal.Keyring.of(IntakeSettings())
OPERATOR = Context(actor="operator:test", now=factories.T0)
# Besides BEGIN and COMMIT: the citizen's key with the catalogue version in force (the
# version was a statement of its own), and the append carrying the row, which finds its
# repeat candidates (a statement of their own before), and its Open311 updates.
STATEMENTS_PER_FILING = 2


def _appeal(phone: str | None, category: str | None = "water.outage") -> domain.NewAppeal:
    return domain.NewAppeal(
        channel="phone",
        appeal_type="complaint",
        category=category,
        content="幸福小区3号楼停水两天",
        citizen=events.Citizen(phone=phone),
        location=events.Location(district="east"),  # no address: repeats by phone alone
    )


@pytest.fixture
async def database(servers: None) -> AsyncIterator[tuple[str, Database]]:
    url = await infra.fresh_database("t_filing_trips", MIGRATIONS)
    engine = create_async_engine(url)
    yield url, Database(engine)
    await engine.dispose()


async def _publish(db: Database, catalogue: Catalogue) -> None:
    async with db.transaction() as tx:
        await store.publish_catalogue(tx, catalogue)


async def _file(db: Database, appeal: domain.NewAppeal) -> events.AppealReceived:
    async with db.transaction() as tx:
        return await filing.file_appeal(tx, appeal, context=OPERATOR, keyring=KEYRING)


async def test_a_filing_is_three_statements_between_begin_and_commit(
    database: tuple[str, Database],
) -> None:
    url, db = database
    await _publish(db, catalogue_seed.DEMO)
    await _file(db, _appeal("13800000000"))  # the first loads the catalogue's document
    await measure.reset_statements(measure.database_name(url))
    phones = ["13800000001", "13800000002", "13800000001", "13800000003"]
    filed = [await _file(db, _appeal(phone)) for phone in phones]  # known phones and new
    counted = await measure.statements(measure.database_name(url), len(phones), role=infra.RUNTIME)
    assert counted["transaction_control_per_command"] == 2, counted  # BEGIN, COMMIT
    assert counted["per_command"] == STATEMENTS_PER_FILING, counted["statements"]
    # The known phone's second filing found its first as a repeat: the search came after
    # the key's lock, in the same transaction (in the append's statement).
    [(repeats,)] = await infra.query(
        url, "SELECT repeat_candidates FROM appeals WHERE id = :id", id=filed[2].subject
    )
    assert repeats == [str(filed[0].subject)]


async def test_a_filing_that_waited_for_the_citizens_key_finds_the_one_it_waited_for(
    database: tuple[str, Database],
) -> None:
    """Two filings from one phone at once: the second waits for the first's lock on the
    citizen's key, and its search for repeats, after the lock, sees the first committed."""
    url, db = database
    earlier = await _file(db, _appeal("13800000009"))
    first_filed = asyncio.Event()

    async def first() -> events.AppealReceived:
        async with db.transaction() as tx:
            received = await filing.file_appeal(
                tx, _appeal("13800000009"), context=OPERATOR, keyring=KEYRING
            )
            first_filed.set()
            # The key stays locked until the second filing waits for it.
            await infra.until_a_backend_waits_on_a_lock(url)
            return received

    async def second() -> events.AppealReceived:
        await first_filed.wait()
        return await _file(db, _appeal("13800000009"))

    one, two = await asyncio.wait_for(asyncio.gather(first(), second()), timeout=30)
    [(repeats,)] = await infra.query(
        url, "SELECT repeat_candidates FROM appeals WHERE id = :id", id=two.subject
    )
    # Both found (filed at one `now`, so their order is the ids' tie-break).
    assert sorted(repeats) == sorted([str(one.subject), str(earlier.subject)])


async def test_the_catalogue_read_beside_the_key_is_the_version_in_force(
    database: tuple[str, Database],
) -> None:
    url, db = database
    await _publish(db, catalogue_seed.DEMO)
    received = await _file(db, _appeal("13800000001"))
    assert received.category == "water.outage"
    without_water = catalogue_seed.DEMO.model_copy(
        update={
            "services": tuple(
                s for s in catalogue_seed.DEMO.services if not s.code.startswith("water.")
            )
        }
    )
    await _publish(db, without_water)  # published between two filings from one phone
    with pytest.raises(Problem) as refused:
        await _file(db, _appeal("13800000001"))
    assert refused.value.status == 422
    assert "not in appeal catalogue version 2" in str(refused.value.extensions)
    # A filing with no phone reads the version on its own: the same answer.
    with pytest.raises(Problem) as refused_too:
        await _file(db, _appeal(None))
    assert refused_too.value.status == 422
    assert "not in appeal catalogue version 2" in str(refused_too.value.extensions)
    # The refused filings left nothing: no appeal, no key of their own.
    assert await infra.query(url, "SELECT count(*) FROM appeals") == [(1,)]
    assert await infra.query(url, "SELECT count(*) FROM citizen_keys") == [(1,)]

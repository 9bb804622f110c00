"""Which faults the consume loop retries (never parking the record) and which it parks:
the same connection faults whether SQLAlchemy wrapped them or a statement ran on the
driver itself (`Tx.driver`, as a consume batch's inbox and appends do)."""

import asyncpg
from sqlalchemy.exc import IntegrityError, InterfaceError

from shared.runtime.deliveries import is_transient


def test_a_lost_connection_is_retried_however_the_statement_ran() -> None:
    assert is_transient(asyncpg.ConnectionDoesNotExistError("connection was closed"))
    assert is_transient(asyncpg.PostgresConnectionError("connection failure"))
    assert is_transient(InterfaceError("SELECT 1", {}, Exception("connection is closed")))


def test_a_row_the_database_refuses_is_not_retried() -> None:
    assert not is_transient(asyncpg.UniqueViolationError("duplicate key"))
    assert not is_transient(asyncpg.CheckViolationError("check"))
    assert not is_transient(IntegrityError("INSERT", {}, Exception("duplicate key")))


def test_a_transaction_postgresql_rolled_back_for_another_is_retried() -> None:
    assert is_transient(asyncpg.DeadlockDetectedError("deadlock detected"))
    assert is_transient(asyncpg.SerializationError("could not serialize access"))

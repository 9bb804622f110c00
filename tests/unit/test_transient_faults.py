"""Which faults the consume loop retries (never parking the record) and which it parks:
the same connection faults whether SQLAlchemy wrapped them or a statement ran on the
driver itself (`Tx.driver`, as a consume batch's inbox and appends do)."""

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout

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


class _Wrapped(Exception):
    """What SQLAlchemy's asyncpg dialect puts in DBAPIError.orig: the driver's SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_a_database_that_cannot_serve_now_is_retried_not_parked() -> None:
    # a pool with no connection free within its wait
    assert is_transient(PoolTimeout("QueuePool limit of size 20 overflow 0 reached"))
    for fault in (
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.DiskFullError("could not extend file"),
    ):
        assert is_transient(fault), fault
        # as SQLAlchemy wraps them: a plain DBAPIError, the connection not invalidated
        wrapped = DBAPIError("SELECT 1", {}, _Wrapped(fault.sqlstate))
        assert not wrapped.connection_invalidated
        assert is_transient(wrapped), fault
    assert not is_transient(DBAPIError("INSERT", {}, _Wrapped("23505")))  # a duplicate key
    assert not is_transient(DBAPIError("SELECT", {}, _Wrapped("57014")))  # cancelled: parked


def test_a_statement_prepared_before_a_migration_or_a_standby_after_failover_is_retried() -> None:
    stale = asyncpg.InvalidCachedStatementError("cached plan must not change result type")
    assert is_transient(stale)
    assert is_transient(asyncpg.exceptions.OutdatedSchemaCacheError("cache lookup failed"))
    wrapped = _Wrapped(stale.sqlstate)
    wrapped.__cause__ = stale  # as SQLAlchemy's adapter chains the driver's error
    assert is_transient(DBAPIError("SELECT * FROM work_orders", {}, wrapped))
    assert not is_transient(DBAPIError("SELECT", {}, _Wrapped("0A000")))  # any other 0A000
    read_only = asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only txn")
    assert is_transient(read_only)
    assert is_transient(DBAPIError("INSERT", {}, _Wrapped(read_only.sqlstate)))

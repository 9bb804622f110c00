"""The database pool as Prometheus gauges, read at scrape time from each service's pool:
`hotline_db_pool_connections{service, state}` with state checked_out (lent to a
transaction), idle (in the pool, or kept by the Database between its transactions) or
overflow (opened beyond the pool's size, and counted in checked_out or idle too), and
`hotline_db_pool_size{service}`, the configured size. A pool near exhaustion shows as
checked_out reaching size plus overflow."""

from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool

from shared.runtime.database import Database


class PoolCollector(Collector):
    def __init__(self) -> None:
        self._databases: dict[str, Database] = {}

    def track(self, service: str, database: Database) -> None:
        self._databases[service] = database

    def forget(self, service: str, database: Database) -> None:
        if self._databases.get(service) is database:
            del self._databases[service]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        connections = GaugeMetricFamily(
            "hotline_db_pool_connections",
            "Database connections of this process's pool by state",
            labels=["service", "state"],
        )
        size = GaugeMetricFamily(
            "hotline_db_pool_size", "Configured size of the database pool", labels=["service"]
        )
        for service, database in list(self._databases.items()):
            pool = database.engine.sync_engine.pool
            if not isinstance(pool, QueuePool):
                continue
            connections.add_metric([service, "checked_out"], pool.checkedout() - database.kept)
            connections.add_metric([service, "idle"], pool.checkedin() + database.kept)
            # overflow() counts from -size up: only a positive value is extra connections.
            connections.add_metric([service, "overflow"], max(pool.overflow(), 0))
            size.add_metric([service], pool.size())
        yield connections
        yield size


POOLS = PoolCollector()
REGISTRY.register(POOLS)

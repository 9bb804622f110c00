"""Prometheus metrics, defined once per process; every series carries the service name."""

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from shared.runtime.poolmetrics import POOLS

# Set (by services/entrypoint.py) where several uvicorn workers serve one service: each
# writes its samples to files there, and /metrics sums them.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "hotline_http_requests_total",
    "HTTP requests answered",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "hotline_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
EVENTS_PUBLISHED = Counter(
    "hotline_outbox_published_total", "Events the outbox relay published", ["service"]
)
OUTBOX_UNPUBLISHED = Gauge(
    "hotline_outbox_unpublished", "Committed events not yet published", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "hotline_outbox_oldest_unpublished_seconds", "Age of the oldest unpublished event", ["service"]
)
RELAY_ACTIVE = Gauge(
    "hotline_outbox_relay_active", "1 while this replica holds the relay role", ["service"]
)
PARTITIONS_ASSIGNED = Gauge(
    "hotline_consumer_partitions_assigned",
    "Partitions this replica's consume loop owns in its group now",
    ["service"],
)
CONSUMED = Counter(
    "hotline_consumer_applied_total", "Facts applied by the consume loop", ["service", "type"]
)
DUPLICATES = Counter(
    "hotline_consumer_duplicates_total", "Redelivered facts skipped by the inbox", ["service"]
)
PARKED = Counter(
    "hotline_consumer_parked_total",
    "Messages parked as undecodable or inapplicable",
    ["service", "reason"],
)
RETRIES = Counter(
    "hotline_consumer_retries_total", "Transient faults retried with backoff", ["service"]
)
COMMIT_GROUP_COMMANDS = Histogram(
    "hotline_commit_group_commands",
    "Commands each group commit's transaction ran (1: alone)",
    ["service"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
COMMIT_GROUP_RERUNS = Counter(
    "hotline_commit_group_reruns_total",
    "Commands run again alone after a member of their group failed",
    ["service"],
)
WEBHOOK_DELIVERIES = Counter(
    "hotline_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retried (another attempt is due), "
    "failed (attempts spent, or the subscription cancelled) or superseded (the lease ran out "
    "and another sender took it)",
    ["service", "outcome"],
)
TIMER_SWEEPS = Counter(
    "hotline_timer_sweeps_total",
    "Durable timer sweeps run, ok or failed",
    ["service", "timer", "outcome"],
)
TIMER_FIRED = Counter(
    "hotline_timer_fired_total", "What durable timer sweeps recorded or sent", ["service", "timer"]
)
AUDIT_FINDINGS = Counter(
    "hotline_audit_findings_total", "Integrity findings audit recorded", ["service", "kind"]
)
# Set by audit's store check: findings are never removed, so a drop (kept by Prometheus
# across a restart) means someone deleted some (the AuditFindingsDeleted alert).
AUDIT_FINDINGS_STORED = Gauge(
    "hotline_audit_findings_stored", "Integrity findings audit's store holds", ["service"]
)
# Set by dispatch's timer sweep: open work orders whose deadlines were counted on weekdays
# across a year whose holiday arrangement is not published (the ProvisionalDeadlines alert).
DEADLINES_PROVISIONAL = Gauge(
    "hotline_deadlines_provisional",
    "Open work orders whose deadline is provisional (holiday arrangement not yet published)",
    ["service"],
)
CHAIN_BREAKS = Counter(
    "hotline_chain_breaks_total",
    "Breaks the self-check found in the service's own history (each counted once)",
    ["service"],
)
CHAIN_VERIFIED_AT = Gauge(
    "hotline_chain_verified_timestamp_seconds",
    "When the self-check last finished a pass over the service's own history",
    ["service"],
)


def exposition() -> bytes:
    """The /metrics page: this process's registry, or with several web processes every
    process's samples (gauges per pid) and this process's own collectors (pool metrics)."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry) + generate_latest(_own_collectors())


def _own_collectors() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(POOLS)
    return registry

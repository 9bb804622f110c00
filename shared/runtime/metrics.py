"""Prometheus metrics, defined once per process; every series carries the service name."""

from prometheus_client import Counter, Gauge, Histogram

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
DEADLINES_PROVISIONAL = Gauge(
    "hotline_deadlines_provisional",
    "Open work orders whose deadlines were counted on weekdays across a year whose holiday "
    "arrangement is not published",
    ["service"],
)

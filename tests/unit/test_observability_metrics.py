"""The metrics issue 16 added are registered under the names the alerts read, and the pool
gauges read an engine's pool at scrape time."""

from prometheus_client import REGISTRY, generate_latest
from sqlalchemy.ext.asyncio import create_async_engine

from shared.runtime import metrics, poolmetrics
from shared.runtime.database import Database


def test_the_pool_is_read_at_scrape_time() -> None:
    engine = create_async_engine("postgresql+asyncpg://x@127.0.0.1:1/x", pool_size=7)
    database = Database(engine, keep=3)
    poolmetrics.POOLS.track("probe", database)
    try:
        text = generate_latest(REGISTRY).decode()
    finally:
        poolmetrics.POOLS.forget("probe", database)
    assert 'hotline_db_pool_connections{service="probe",state="checked_out"} 0.0' in text
    assert 'hotline_db_pool_connections{service="probe",state="idle"} 0.0' in text
    assert 'hotline_db_pool_connections{service="probe",state="overflow"} 0.0' in text
    assert 'hotline_db_pool_size{service="probe"} 7.0' in text
    assert 'service="probe"' not in generate_latest(REGISTRY).decode()  # forgotten


def test_the_new_series_carry_the_labels_the_alerts_use() -> None:
    metrics.WEBHOOK_DELIVERIES.labels("feedback", "failed").inc()
    metrics.AUDIT_FINDINGS.labels("audit", "gap").inc()
    metrics.TIMER_SWEEPS.labels("dispatch", "dispatch_service.timer", "ok").inc()
    metrics.TIMER_FIRED.labels("dispatch", "dispatch_service.timer").inc(0)
    text = generate_latest(REGISTRY).decode()
    assert 'hotline_webhook_deliveries_total{outcome="failed",service="feedback"}' in text
    assert 'hotline_audit_findings_total{kind="gap",service="audit"}' in text
    assert (
        'hotline_timer_sweeps_total{outcome="ok",service="dispatch",'
        'timer="dispatch_service.timer"}' in text
    )
    assert "# TYPE hotline_deadlines_provisional gauge" in text

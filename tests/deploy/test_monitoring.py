"""The PodMonitors and PrometheusRules: Prometheus scrapes every service, each alert reads
metrics the code exports, and each alert links
to its own section of the runbook, docs/operations.md."""

import importlib
import re
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.catalog import SERVICES
from tests.deploy.manifests import OVERLAYS, ROOT, Doc, named, of_kind, render

OPERATIONS = ROOT / "docs" / "operations.md"
RUNBOOK = "https://git.hotline.example/hotline/hotline/blob/main/docs/operations.md"
SEVERITIES = {"critical", "warning"}
HOTLINE_METRIC = re.compile(r"\bhotline_[a-z0-9_]+")
# Metrics the runbook documents and the alerts use, which the code does not export yet. A
# typo in an alert is not here.
NOT_YET_EXPORTED: set[str] = set()
# Metrics from elsewhere: Strimzi's Kafka Exporter, CloudNativePG and its Barman Cloud
# plugin, kube-state-metrics, Prometheus itself.
FOREIGN = re.compile(r"\b(kafka_consumergroup_lag|cnpg_[a-z_]+|barman_cloud_[a-z_]+|kube_[a-z_]+)")


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub (and most Markdown renderers) give the headings: lower case, spaces
    to hyphens, punctuation dropped, a repeated one suffixed -1, -2, ..."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not (match := re.match(r"^#{1,6} (.+?)\s*#*$", line)):
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def rules(docs: list[Doc]) -> list[dict[str, Any]]:
    return [
        rule
        for doc in of_kind(docs, "PrometheusRule")
        for group in doc["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def exported_metrics() -> set[str]:
    """Every series name the services register, importing each service as it starts."""
    importlib.import_module("shared.runtime.metrics")
    for service in SERVICES.values():
        importlib.import_module(service.app.partition(":")[0])
    return set(REGISTRY._names_to_collectors)


@pytest.fixture(params=OVERLAYS)
def docs(request: pytest.FixtureRequest) -> list[Doc]:
    return render(request.param)


def test_the_anchor_reader_reads_github_anchors() -> None:
    text = "# Ops\n## Back up and restore\n```sh\n# not a heading\n```\n### RelayMissing\n## Ops"
    assert github_anchors(text) == {"ops", "back-up-and-restore", "relaymissing", "ops-1"}


def test_the_services_pod_monitor_selects_every_service_deployment(docs: list[Doc]) -> None:
    monitor = named(docs, "PodMonitor", "hotline-services")
    spec = monitor["spec"]
    assert "namespaceSelector" not in spec, "its own namespace only"
    assert set(spec["selector"]) == {"matchLabels"}
    wanted = spec["selector"]["matchLabels"]
    endpoints = spec["podMetricsEndpoints"]
    assert {e["path"] for e in endpoints} == {"/metrics"}
    assert endpoints[0]["port"] == "http", "every service pod's HTTP container"
    deployments = of_kind(docs, "Deployment")
    assert sorted(d["metadata"]["name"] for d in deployments) == sorted(SERVICES)
    for d in deployments:
        template = d["spec"]["template"]
        labels = template["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in wanted.items()), d["metadata"]["name"]
        ports = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        assert "http" in ports, d["metadata"]["name"]
        # a worker container (services/entrypoint.py) serves its own metrics: scraped too
        assert ports - {"http"} <= {e["port"] for e in endpoints}, d["metadata"]["name"]
        assert labels[spec["jobLabel"]] == "hotline", "the alerts select job=hotline"
    for job in of_kind(docs, "Job"):  # the migrations serve no /metrics
        labels = job["spec"]["template"]["metadata"]["labels"]
        assert not all(labels.get(k) == v for k, v in wanted.items()), job["metadata"]["name"]


def test_lag_and_database_metrics_are_scraped_too(docs: list[Doc]) -> None:
    exporter = named(docs, "PodMonitor", "hotline-kafka-exporter")["spec"]
    assert exporter["selector"]["matchLabels"]["strimzi.io/name"] == "hotline-kafka-exporter"
    kafka = named(docs, "Kafka", "hotline")["spec"]
    assert "kafkaExporter" in kafka, "kafka_consumergroup_lag comes from the Kafka Exporter"
    postgres = named(docs, "PodMonitor", "hotline-postgres")["spec"]
    assert postgres["selector"]["matchLabels"] == {"cnpg.io/podRole": "instance"}
    [endpoint] = postgres["podMetricsEndpoints"]
    assert {"sourceLabels": ["__meta_kubernetes_pod_label_cnpg_io_cluster"],
            "targetLabel": "cluster"} in endpoint["relabelings"]  # fmt: skip


def test_every_alert_links_to_its_own_section_of_the_runbook(docs: list[Doc]) -> None:
    anchors = github_anchors(OPERATIONS.read_text())
    alerts = rules(docs)
    names = [r["alert"] for r in alerts]
    assert len(names) == len(set(names)), "an alert defined twice"
    for rule in alerts:
        name, annotations = rule["alert"], rule["annotations"]
        assert re.fullmatch(r"[A-Z][A-Za-z]+", name), name
        url = annotations["runbook_url"]
        base, _, anchor = url.partition("#")
        assert base == RUNBOOK, url
        assert anchor == name.lower(), f"{name}: link to its own section, not {anchor}"
        assert anchor in anchors, f"{name}: docs/operations.md has no heading #{anchor}"
        assert annotations["summary"], name
        assert annotations["description"], name
        assert rule["labels"]["severity"] in SEVERITIES, name


def test_the_alerts_the_issue_names_are_shipped() -> None:
    prod = {r["alert"]: r["expr"] for r in rules(render("prod"))}
    wanted = {
        "OutboxStuck": "hotline_outbox_oldest_unpublished_seconds",
        "ConsumerLag": "kafka_consumergroup_lag",
        "MessagesParked": "hotline_consumer_parked_total",
        "AuditFindings": "hotline_audit_findings_total",
        "WebhookDeliveriesFailed": "hotline_webhook_deliveries_total",
        "ProvisionalDeadlines": "hotline_deadlines_provisional",
        "WalArchivingFailing": "cnpg_pg_stat_archiver_",
        "BackupTooOld": "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
    }
    for alert, metric in wanted.items():
        assert metric in prod[alert], alert
    dev = {r["alert"] for r in rules(render("dev"))}
    assert dev == set(prod) - {"WalArchivingFailing", "BackupTooOld"}, "dev keeps no backups"


def test_alerts_read_metrics_that_exist(docs: list[Doc]) -> None:
    exported = exported_metrics()
    used: set[str] = set()
    for rule in rules(docs):
        expr = str(rule["expr"])
        names = set(HOTLINE_METRIC.findall(expr))
        assert names or FOREIGN.search(expr), f"{rule['alert']}: reads no known metric"
        used |= names
    unknown = used - exported - NOT_YET_EXPORTED
    assert not unknown, f"alerts read metrics nothing exports: {sorted(unknown)}"
    documented = OPERATIONS.read_text()
    for name in used:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert f"`{base}" in documented, f"{name}: not in docs/operations.md's metrics table"

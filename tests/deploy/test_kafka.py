"""The Strimzi resources against the code's own contracts: the topics shared/topics.py names,
and for each service exactly the ACLs its producer and consume loop need."""

import importlib
import os
import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from services.catalog import SERVICES
from shared import topics
from shared.runtime.consumer import subscriptions
from shared.runtime.settings import KafkaGroupTiming
from tests.deploy.manifests import NAMESPACES, OVERLAYS, Doc, config_maps_of, named, of_kind, render

DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
STRIMZI_KAFKA_VERSIONS = re.compile(r"^4\.[23]\.\d+$")  # what Strimzi 1.2.0 runs
LISTENER_PORT = 9093
ZONE = "topology.kubernetes.io/zone"
# The brokers' session bounds when unset (Kafka's defaults).
BROKER_MIN_SESSION_MS, BROKER_MAX_SESSION_MS = 6000, 1_800_000


@dataclass(frozen=True)
class Contract:
    writes: str | None
    reads: tuple[str, ...]
    group: str


def contract(name: str) -> Contract:
    """What the service really does, read from the ServiceSpec its create_app() builds: the
    topic its relay publishes to and the topics and group its consume loop uses (the same
    rules as shared.runtime.app)."""
    module = importlib.import_module(SERVICES[name].app.partition(":")[0])
    specs: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        # a stand-in app: create_app may still decorate the app it gets (intake documents
        # Open311's own errors on it)
        def create_service(spec: Any) -> FastAPI:
            specs.append(spec)
            return FastAPI()

        patch.setattr(module, "create_service", create_service)
        module.create_app()
    [spec] = specs
    reads = tuple(spec.subscribe or subscriptions(spec.handlers))
    if not spec.handlers and spec.on_fact is None:
        reads = ()
    service = spec.settings.service_name
    return Contract(
        writes=topics.WRITES.get(service),
        reads=reads,
        group=spec.settings.consumer_group or service,
    )


def acl_table(user: Doc) -> dict[tuple[str, str, str], set[str]]:
    table: dict[tuple[str, str, str], set[str]] = {}
    for rule in user["spec"]["authorization"]["acls"]:
        assert rule.get("type", "allow") == "allow"
        assert rule.get("host", "*") == "*"
        r = rule["resource"]
        key = (r["type"], r["name"], r.get("patternType", "literal"))
        table.setdefault(key, set()).update(rule["operations"])
    return table


def expected_acls(c: Contract) -> dict[tuple[str, str, str], set[str]]:
    table: dict[tuple[str, str, str], set[str]] = {}
    if c.writes is not None:
        table[("topic", c.writes, "literal")] = {"Describe", "Write"}
    for topic in c.reads:
        table.setdefault(("topic", topic, "literal"), set()).update({"Describe", "Read"})
    if c.reads:
        table[("group", c.group, "literal")] = {"Read"}
    return table


def test_the_contracts_are_what_the_architecture_says() -> None:
    # A guard on the reader above: if it misread the code, every ACL test would be moot.
    assert contract("intake") == Contract(
        topics.INTAKE, (topics.DISPATCH, topics.FEEDBACK), "intake"
    )
    assert contract("audit") == Contract(topics.CHECKPOINTS, topics.ALL, "audit")
    assert contract("feedback").reads == (topics.DISPATCH, topics.INTAKE)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_may_write_only_its_topic_and_read_only_what_it_consumes(
    overlay: str, name: str
) -> None:
    docs = render(overlay)
    user = named(docs, "KafkaUser", name)
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == "hotline"
    assert user["spec"]["authentication"] == {"type": "tls"}
    assert acl_table(user) == expected_acls(contract(name))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_kafka_user_but_the_services(overlay: str) -> None:
    users = {u["metadata"]["name"] for u in of_kind(render(overlay), "KafkaUser")}
    assert users == set(SERVICES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_topics_are_the_code_s_topics_kept_forever(overlay: str) -> None:
    docs = render(overlay)
    brokers = sum(
        p["spec"]["replicas"]
        for p in of_kind(docs, "KafkaNodePool")
        if "broker" in p["spec"]["roles"]
    )
    by_name = {t["spec"]["topicName"]: t for t in of_kind(docs, "KafkaTopic")}
    assert set(by_name) == set(topics.CREATED)
    for name, topic in by_name.items():
        assert DNS_1123.match(topic["metadata"]["name"]), topic["metadata"]["name"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "hotline"
        spec = topic["spec"]
        assert spec["partitions"] == topics.CREATED[name], name
        config = spec["config"]
        assert (config["retention.ms"], config["retention.bytes"]) == (-1, -1), name
        assert config["cleanup.policy"] == "delete", "never compact an event-sourcing topic"
        # acks=all fails outright when fewer in-sync replicas exist than required.
        assert config["min.insync.replicas"] < spec["replicas"] <= brokers or (
            config["min.insync.replicas"] == spec["replicas"] == 1
        ), name
        if overlay == "prod":
            assert (spec["replicas"], config["min.insync.replicas"]) == (3, 2), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_cluster_is_kraft_with_a_tls_listener_and_acls(overlay: str) -> None:
    docs = render(overlay)
    kafka = named(docs, "Kafka", "hotline")["spec"]["kafka"]
    assert STRIMZI_KAFKA_VERSIONS.match(kafka["version"])
    assert kafka["metadataVersion"].startswith(kafka["version"].rsplit(".", 1)[0] + "-IV")
    assert "replicas" not in kafka, "node pools hold the replicas"
    [listener] = kafka["listeners"]
    assert (listener["port"], listener["tls"], listener["authentication"]) == (
        LISTENER_PORT,
        True,
        {"type": "tls"},
    )
    assert kafka["authorization"] == {"type": "simple"}
    assert kafka["config"]["auto.create.topics.enable"] is False
    pools = of_kind(docs, "KafkaNodePool")
    assert {role for p in pools for role in p["spec"]["roles"]} == {"controller", "broker"}
    for pool in pools:
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "hotline"
    for d in of_kind(docs, "Deployment"):
        bootstrap = config_maps_of(docs, d)["HOTLINE_KAFKA_BOOTSTRAP"]
        assert bootstrap == f"hotline-kafka-bootstrap:{LISTENER_PORT}"
    if overlay == "prod":
        assert kafka["config"]["min.insync.replicas"] == 2
        assert kafka["config"]["default.replication.factor"] == 3


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_reads_the_lag_of_the_service_s_own_group_with_its_own_certificate(
    overlay: str,
) -> None:
    docs = render(overlay)
    for scaled in of_kind(docs, "ScaledObject"):
        name = scaled["spec"]["scaleTargetRef"]["name"]
        [trigger] = scaled["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert meta["consumerGroup"] == contract(name).group
        assert "topic" not in meta, "every topic the group has offsets for"
        assert meta.get("allowIdleConsumers", "false") == "false"
        # KEDA's operator lives in another namespace: the short Service name would not resolve.
        assert meta["bootstrapServers"] == (
            f"hotline-kafka-bootstrap.{NAMESPACES[overlay]}.svc:{LISTENER_PORT}"
        )
        assert meta["tls"] == "enable"
        auth = named(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
        assert refs == {
            "ca": ("hotline-cluster-ca-cert", "ca.crt"),
            "cert": (name, "user.crt"),
            "key": (name, "user.key"),
        }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_controllers_have_a_pool_of_their_own(overlay: str) -> None:
    pools = of_kind(render(overlay), "KafkaNodePool")
    controllers = [p for p in pools if "controller" in p["spec"]["roles"]]
    brokers = [p for p in pools if "broker" in p["spec"]["roles"]]
    assert [p["spec"]["roles"] for p in controllers] == [["controller"]], "no dual-role nodes"
    assert brokers
    assert all(p["spec"]["roles"] == ["broker"] for p in brokers)
    [quorum] = controllers
    voters = quorum["spec"]["replicas"]
    assert voters % 2 == 1, "a KRaft quorum of an odd size: an even one tolerates no more"
    if overlay == "prod":
        assert voters >= 3, "survives the loss of a controller"
        assert sum(p["spec"]["replicas"] for p in brokers) >= 3


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_spreads_over_zones(overlay: str) -> None:
    docs = render(overlay)
    kafka = named(docs, "Kafka", "hotline")["spec"]["kafka"]
    if overlay == "prod":
        # broker.rack from the node's zone: a partition's replicas land in different zones.
        assert kafka["rack"] == {"topologyKey": ZONE}
    else:
        assert "rack" not in kafka, "development nodes label no zones"
    for pool in of_kind(docs, "KafkaNodePool"):
        name = pool["metadata"]["name"]
        constraints = pool["spec"]["template"]["pod"]["topologySpreadConstraints"]
        [zone] = [c for c in constraints if c["topologyKey"] == ZONE]
        assert zone["maxSkew"] == 1
        assert zone["labelSelector"] == {
            "matchLabels": {"strimzi.io/cluster": "hotline", "strimzi.io/pool-name": name}
        }, "counts this pool's pods only"
        expected = "DoNotSchedule" if overlay == "prod" else "ScheduleAnyway"
        assert zone["whenUnsatisfiable"] == expected, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_brokers_allow_the_session_the_consumers_ask_for(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A session outside the brokers' bounds fails every JoinGroup: no consumer would run.
    docs = render(overlay)
    for kafka in of_kind(docs, "Kafka"):
        config = kafka["spec"]["kafka"]["config"]
        least = int(config.get("group.min.session.timeout.ms", BROKER_MIN_SESSION_MS))
        most = int(config.get("group.max.session.timeout.ms", BROKER_MAX_SESSION_MS))
        for d in of_kind(docs, "Deployment"):
            with monkeypatch.context() as m:
                for key in [k for k in os.environ if k.startswith("HOTLINE_")]:
                    m.delenv(key)
                for key, value in config_maps_of(docs, d).items():
                    m.setenv(key, value)
                session = KafkaGroupTiming().session_timeout_ms  # what the consumers ask for
            assert least <= session <= most, f"{overlay}: {d['metadata']['name']} {session} ms"

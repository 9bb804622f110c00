"""The NetworkPolicies, evaluated: a small model of how Kubernetes combines them (a pod
selected by no policy of a type is open for it; otherwise some rule must allow, on both the
sending and the receiving side) applied to the pods the cluster will run."""

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.catalog import SERVICES
from tests.deploy.manifests import NAMESPACES, OVERLAYS, Doc, named, of_kind, render


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)  # named container ports
    external: bool = False  # an address outside the cluster (only ipBlock peers match it)
    address: str = ""  # an external one's IP address


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"unsupported selector {selector}"
    wanted: dict[str, str] = selector.get("matchLabels", {})
    return all(labels.get(k) == v for k, v in wanted.items())


def _peer_matches(peer: dict[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        if not pod.external:
            return False
        block, address = peer["ipBlock"], ipaddress.ip_address(pod.address)
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(cidr) for cidr in block.get("except", [])
        )
    if pod.external:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": pod.namespace}
        if not _matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return _matches(peer.get("podSelector", {}), pod.labels)


def _port_matches(
    rule_ports: list[dict[str, Any]] | None, target: Pod, port: int, proto: str
) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != proto:
            continue
        wanted = p.get("port")
        if wanted is None or wanted == port or target.ports.get(str(wanted)) == port:
            return True
    return False


class Network:
    def __init__(self, policies: list[Doc]) -> None:
        self.policies = policies

    def _side(self, pod: Pod, kind: str, peer: Pod, target: Pod, port: int, proto: str) -> bool:
        key, direction = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
        selecting = [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and kind in p["spec"]["policyTypes"]
            and _matches(p["spec"]["podSelector"], pod.labels)
        ]
        if not selecting:
            return True
        for policy in selecting:
            for rule in policy["spec"].get(key, []):
                peers = rule.get(direction)
                if (
                    not peers
                    or any(_peer_matches(x, peer, policy["metadata"]["namespace"]) for x in peers)
                ) and _port_matches(rule.get("ports"), target, port, proto):
                    return True
        return False

    def allows(self, source: Pod, target: Pod, port: int, proto: str = "TCP") -> bool:
        sends = source.external or self._side(source, "Egress", target, target, port, proto)
        takes = target.external or self._side(target, "Ingress", source, target, port, proto)
        return sends and takes


PRIVATE = {
    "node": "10.0.0.5",
    "private-172": "172.20.1.1",
    "private-192": "192.168.1.1",
    "metadata": "169.254.169.254",
    "cgnat": "100.64.0.1",
}


def cluster(overlay: str) -> tuple[Network, dict[str, Pod]]:
    docs = render(overlay)
    ns = NAMESPACES[overlay]
    pods: dict[str, Pod] = {}
    for w in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        template = w["spec"]["template"]
        ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"]["containers"]
            for p in c.get("ports", [])
        }
        pods[w["metadata"]["name"]] = Pod(
            w["metadata"]["name"], ns, template["metadata"]["labels"], ports
        )
    for name in SERVICES:
        pods[f"{name}-pg"] = Pod(
            f"{name}-pg", ns, {"cnpg.io/cluster": f"{name}-pg", "cnpg.io/podRole": "instance"}
        )
    kafka = {"strimzi.io/cluster": "hotline", "strimzi.io/kind": "Kafka"}
    pods["broker"] = Pod("broker", ns, {**kafka, "strimzi.io/pool-name": "brokers"})
    pods["controller"] = Pod("controller", ns, {**kafka, "strimzi.io/pool-name": "controllers"})
    pods["kafka-exporter"] = Pod(
        "kafka-exporter", ns, {**kafka, "strimzi.io/name": "hotline-kafka-exporter"}
    )
    pods["entity-operator"] = Pod(
        "entity-operator", ns, {**kafka, "strimzi.io/name": "hotline-entity-operator"}
    )
    pods["kube-dns"] = Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"})
    pods["ingress"] = Pod("ingress", "ingress-nginx", {"app": "ingress-nginx"})
    pods["prometheus"] = Pod("prometheus", "monitoring", {"app": "prometheus"})
    pods["keda"] = Pod("keda", "keda", {"app": "keda-operator"})
    pods["stranger"] = Pod("stranger", "default", {"app": "curl"})
    pods["neighbour"] = Pod("neighbour", ns, {"app": "debug"})
    pods["internet"] = Pod("internet", "", {}, external=True, address="8.8.8.8")
    # the identity provider: inside jwks-egress.yaml's placeholder CIDR (TEST-NET-3)
    pods["idp"] = Pod("idp", "", {}, external=True, address="203.0.113.10")
    # outside the cluster's pods but not the internet: a node, the cloud's metadata service
    for name, address in PRIVATE.items():
        pods[name] = Pod(name, "", {}, external=True, address=address)
    return Network(of_kind(docs, "NetworkPolicy")), pods  # fmt: skip


@pytest.fixture(params=OVERLAYS)
def net(request: pytest.FixtureRequest) -> tuple[Network, dict[str, Pod]]:
    return cluster(request.param)


def test_default_deny_covers_every_pod_both_ways() -> None:
    for overlay in OVERLAYS:
        [deny] = [
            p
            for p in of_kind(render(overlay), "NetworkPolicy")
            if p["spec"]["podSelector"] == {} and not {"ingress", "egress"} & set(p["spec"])
        ]
        assert sorted(deny["spec"]["policyTypes"]) == ["Egress", "Ingress"]


KEY_CLIENTS = frozenset({"feedback", "audit"})


def test_each_service_reaches_its_database_kafka_and_dns_only(
    net: tuple[Network, dict[str, Pod]],
) -> None:
    network, pods = net
    for name in SERVICES:
        app = pods[name]
        assert network.allows(app, pods[f"{name}-pg"], 5432), name
        assert network.allows(app, pods["broker"], 9093), name
        assert network.allows(app, pods["kube-dns"], 53, "UDP"), name
        assert network.allows(app, pods["kube-dns"], 53, "TCP"), name
        for other in set(SERVICES) - {name}:
            assert not network.allows(app, pods[f"{other}-pg"], 5432), f"{name} -> {other}-pg"
            # feedback and audit ask intake for citizens' data keys; no other call is allowed
            calls = name in KEY_CLIENTS and other == "intake"
            assert network.allows(app, pods[other], 8080) == calls, f"{name} -> {other}"
        assert not network.allows(app, pods["broker"], 9091), "replication port is internal"
        assert not network.allows(app, pods["controller"], 9090), "the quorum is internal"
        assert not network.allows(app, pods["neighbour"], 8080)
        assert not network.allows(app, pods["stranger"], 8080)


def test_migrations_reach_their_database_and_nothing_else(
    net: tuple[Network, dict[str, Pod]],
) -> None:
    network, pods = net
    for name in SERVICES:
        job = pods[f"{name}-migrate"]
        assert network.allows(job, pods[f"{name}-pg"], 5432)
        assert network.allows(job, pods["kube-dns"], 53, "UDP")
        assert not network.allows(job, pods["broker"], 9093)
        assert not network.allows(job, pods["internet"], 443)
        for other in set(SERVICES) - {name}:
            assert not network.allows(job, pods[f"{other}-pg"], 5432)


def test_services_are_reached_by_the_ingress_controller_and_prometheus_only(
    net: tuple[Network, dict[str, Pod]],
) -> None:
    network, pods = net
    for name in SERVICES:
        assert network.allows(pods["ingress"], pods[name], 8080)
        assert network.allows(pods["prometheus"], pods[name], 8080)
        assert network.allows(pods["prometheus"], pods[name], 8081), "the worker's /metrics"
        assert not network.allows(pods["ingress"], pods[name], 8081), "the worker's is no API"
        assert not network.allows(pods["stranger"], pods[name], 8080)
        assert not network.allows(pods["neighbour"], pods[name], 8080)
        assert not network.allows(pods["ingress"], pods[f"{name}-pg"], 5432)


def test_infrastructure_keeps_working_under_default_deny(
    net: tuple[Network, dict[str, Pod]],
) -> None:
    network, pods = net
    assert network.allows(pods["broker"], pods["broker"], 9091), "replication"
    assert network.allows(pods["broker"], pods["controller"], 9090), "KRaft quorum"
    assert network.allows(pods["controller"], pods["controller"], 9090), "KRaft quorum"
    assert network.allows(pods["prometheus"], pods["kafka-exporter"], 9404), "consumer lag"
    assert network.allows(pods["keda"], pods["broker"], 9093), "KEDA reads consumer lag"
    assert network.allows(pods["entity-operator"], pods["internet"], 6443), "Kubernetes API"
    assert not network.allows(pods["stranger"], pods["broker"], 9093)
    for name in SERVICES:
        pg = pods[f"{name}-pg"]
        assert network.allows(pg, pg, 5432), "streaming replication"
        assert network.allows(pg, pods["internet"], 443), "API server and backup store"
        assert network.allows(pods["prometheus"], pg, 9187)


SENDS_WEBHOOKS = frozenset({"feedback"})  # feedback_service/sender.py, in its worker


def test_only_production_services_call_out_and_only_to_https() -> None:
    for overlay in OVERLAYS:
        network, pods = cluster(overlay)
        for name in SERVICES:
            jwks = network.allows(pods[name], pods["idp"], 443)
            assert jwks == (overlay == "prod"), f"{overlay}: {name} -> JWKS"
            # partners' webhooks and citizens' channels: anywhere public, feedback only
            webhooks = network.allows(pods[name], pods["internet"], 443)
            assert webhooks == (overlay == "prod" and name in SENDS_WEBHOOKS), (overlay, name)
            for target in ("internet", "idp"):
                assert not network.allows(pods[name], pods[target], 80), (overlay, name)
            for private in PRIVATE:
                assert not network.allows(pods[name], pods[private], 443), (name, private)


def test_feedback_s_egress_is_https_to_public_addresses_only() -> None:
    spec = named(render("prod"), "NetworkPolicy", "feedback-egress")["spec"]
    assert spec["podSelector"] == {
        "matchLabels": {
            "app.kubernetes.io/name": "feedback",
            "app.kubernetes.io/component": "service",
        }
    }
    assert spec["policyTypes"] == ["Egress"]
    [rule] = spec["egress"]
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]
    [peer] = rule["to"]
    assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert set(peer["ipBlock"]["except"]) == {
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"
    }  # fmt: skip
    dev = {p["metadata"]["name"] for p in of_kind(render("dev"), "NetworkPolicy")}
    assert "feedback-egress" not in dev, "dev calls nothing outside the cluster"

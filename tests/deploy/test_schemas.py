"""Every rendered object is valid: built-in kinds against the Kubernetes schemas (strict, via
kubernetes-validate), custom resources against the CRDs in ../shared/crds with unknown
fields rejected, the way a strict API server would."""

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from tests.deploy.manifests import (
    CRD_DIR,
    OVERLAYS,
    Doc,
    ident,
    is_builtin,
    load_all,
    named,
    of_kind,
    render,
)

KUBERNETES_VERSION = "1.32.0"  # the oldest version the manifests support (preStop sleep: 1.30)
VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
Schemas = dict[tuple[str, str], dict[str, Any]]


def _strict(node: Any) -> Any:
    """The schema with `additionalProperties: false` on every object that lists its properties
    and does not preserve unknown fields: what strict server-side validation enforces."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if (
        out.get("type") == "object"
        and "properties" in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    return out


def load_served_schemas(crd_dir: Path) -> Schemas:
    schemas: Schemas = {}
    for path in sorted(crd_dir.rglob("*.yaml")):
        for crd in load_all(path.read_text()):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = _strict(version["schema"]["openAPIV3Schema"])
    return schemas


@pytest.fixture(scope="session")
def crd_schemas() -> Schemas:
    if not CRD_DIR.is_dir():
        pytest.skip(f"{CRD_DIR} not found: Strimzi/CNPG/KEDA resources were NOT validated")
    schemas = load_served_schemas(CRD_DIR)
    assert schemas, f"no served CustomResourceDefinition in {CRD_DIR}"
    return schemas


def crd_errors(doc: Doc, schemas: Schemas) -> list[str]:
    schema = schemas.get((doc["apiVersion"], doc["kind"]))
    if schema is None:
        return [f"{doc['apiVersion']} {doc['kind']} is not served by the CRDs in {CRD_DIR}"]
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in Draft7Validator(schema).iter_errors(doc)
    ]


def kubernetes_validate(docs: list[Doc], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    manifest = tmp_path / "builtin.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))
    return subprocess.run(
        [str(VALIDATE), "--strict", "-k", KUBERNETES_VERSION, "--quiet", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_kinds_match_the_kubernetes_schemas(overlay: str, tmp_path: Path) -> None:
    builtin = [d for d in render(overlay) if is_builtin(d)]
    assert {"Deployment", "Service", "Job", "NetworkPolicy"} <= {d["kind"] for d in builtin}
    done = kubernetes_validate(builtin, tmp_path)
    # --quiet prints only failures and warnings; a warning here means a kind or apiVersion
    # the Kubernetes version does not serve (a removed beta, a typo in the group).
    assert done.returncode == 0, done.stdout + done.stderr
    assert not done.stdout.strip(), done.stdout


CUSTOM_KINDS = {
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "KafkaUser",
    "Cluster",
    "ScaledObject",
    "TriggerAuthentication",
    "PodMonitor",
    "PrometheusRule",
}
BACKUP_KINDS = {"ObjectStore", "ScheduledBackup"}  # production only: dev keeps no backups


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_crds(overlay: str, crd_schemas: Schemas) -> None:
    custom = [d for d in render(overlay) if not is_builtin(d)]
    kinds = {d["kind"] for d in custom}
    assert kinds == CUSTOM_KINDS | (BACKUP_KINDS if overlay == "prod" else set())
    errors = {ident(d): e for d in custom if (e := crd_errors(d, crd_schemas))}
    assert not errors, yaml.safe_dump(errors)


# The validators themselves must reject what a cluster would: each case breaks one rendered
# object the way people do, and must be caught.


def test_the_kubernetes_validator_rejects_an_unknown_field(tmp_path: Path) -> None:
    deployment = copy.deepcopy(of_kind(render("prod"), "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    done = kubernetes_validate([deployment], tmp_path)
    assert done.returncode != 0
    assert "readinesProbe" in done.stdout


@pytest.mark.parametrize(
    ("kind", "name", "breakage", "complaint"),
    [
        pytest.param(
            "Kafka",
            "hotline",
            lambda d: d["spec"]["kafka"].update(replicas=3),
            "'replicas' was unexpected",
            id="kafka-replicas-moved-to-node-pools",
        ),
        pytest.param(
            "KafkaUser",
            "dispatch",
            lambda d: d["spec"]["authorization"]["acls"][0].update(operation="Read"),
            "'operation' was unexpected",
            id="acl-singular-operation",
        ),
        pytest.param(
            "ScaledObject",
            "dispatch",
            lambda d: d["spec"]["triggers"][0]["metadata"].update(lagThreshold=100),
            "100 is not of type 'string'",
            id="keda-metadata-not-a-string",
        ),
        pytest.param(
            "KafkaTopic",
            "hotline-intake-events-v1",
            lambda d: d["spec"].update(partitions=0),
            "0 is less than the minimum of 1",
            id="topic-without-partitions",
        ),
        pytest.param(
            "Cluster",
            "audit-pg",
            lambda d: d["spec"].update(instancez=3),
            "'instancez' was unexpected",
            id="cnpg-typo",
        ),
        pytest.param(
            "KafkaTopic",
            "hotline-intake-events-v1",
            lambda d: d.update(apiVersion="kafka.strimzi.io/v1beta2"),
            "is not served",
            id="strimzi-v1beta2-removed",
        ),
        pytest.param(
            "KafkaNodePool",
            "brokers",
            lambda d: d["spec"].update(roles=["broker", "voter"]),
            "'voter' is not one of",
            id="node-pool-unknown-role",
        ),
        pytest.param(
            "Cluster",
            "intake-pg",
            lambda d: d["spec"]["plugins"][0].update(barmanObjectName="hotline-backups"),
            "'barmanObjectName' was unexpected",
            id="cnpg-plugin-parameter-outside-parameters",
        ),
        pytest.param(
            "ScheduledBackup",
            "intake-pg-nightly",
            lambda d: d["spec"].update(method="barmanCloud"),
            "'barmanCloud' is not one of",
            id="scheduled-backup-unknown-method",
        ),
        pytest.param(
            "ObjectStore",
            "hotline-backups",
            lambda d: d["spec"]["configuration"].update(destinationPaht="s3://x/"),
            "'destinationPaht' was unexpected",
            id="object-store-typo",
        ),
        pytest.param(
            "PodMonitor",
            "hotline-services",
            lambda d: d["spec"]["podMetricsEndpoints"][0].update(targetPort="http", pth="/"),
            "'pth' was unexpected",
            id="pod-monitor-typo",
        ),
        pytest.param(
            "PrometheusRule",
            "hotline",
            lambda d: d["spec"]["groups"][0]["rules"][0].update({"for": "2 minutes"}),
            "does not match",
            id="prometheus-rule-bad-duration",
        ),
    ],
)
def test_the_crd_validator_rejects_what_the_api_server_would(
    kind: str, name: str, breakage: Any, complaint: str, crd_schemas: Schemas
) -> None:
    doc = copy.deepcopy(named(render("prod"), kind, name))
    assert crd_errors(doc, crd_schemas) == []
    breakage(doc)
    errors = crd_errors(doc, crd_schemas)
    assert any(complaint in e for e in errors), errors

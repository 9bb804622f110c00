"""The container image, built for real without a Docker engine (Debian's buildah, through
deploy/image.sh) and run: a fixed non-root user, no build tools, and each service answering
/livez with neither Kafka nor PostgreSQL reachable. Slow (a minute or more): `make image`
runs it; `make test` skips it, and so does any machine without buildah, saying so."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.catalog import SERVICES
from tests.deploy.manifests import DEPLOY, ROOT

pytestmark = pytest.mark.image

IMAGE = os.environ.get("HOTLINE_IMAGE", "localhost/hotline:test")
UID = 10001
START_SECONDS = 60


def image_sh(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEPLOY / "image.sh"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "HOTLINE_IMAGE": IMAGE},
    )


def buildah(*args: str) -> str:
    done = image_sh("buildah", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def image() -> str:
    missing = [t for t in ("buildah", "debootstrap") if shutil.which(t) is None]
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not installed, so the image was NOT built or run: "
            "`apt-get install buildah debootstrap` (make image does it)"
        )
    if os.geteuid() != 0:
        pytest.skip("building with buildah (chroot isolation) and debootstrap needs root")
    done = image_sh("build", timeout=1800)
    assert done.returncode == 0, f"deploy/image.sh build failed:\n{done.stdout}\n{done.stderr}"
    return IMAGE


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[str]:
    name = buildah("from", image)
    yield name
    buildah("rm", name)


def config(image: str) -> dict[str, Any]:
    inspected = json.loads(buildah("inspect", "--type", "image", image))
    oci: dict[str, Any] = inspected["OCIv1"]["config"]
    return oci


def test_runs_as_the_fixed_non_root_user(image: str, container: str) -> None:
    assert config(image)["User"] == f"{UID}:{UID}"
    assert buildah("run", "--isolation", "chroot", container, "--", "id", "-u") == str(UID)


def test_the_final_stage_holds_no_build_tools(container: str) -> None:
    probe = (
        "import importlib.util, shutil; "
        "print([n for n in ('gcc', 'cc', 'make', 'pip', 'pip3') if shutil.which(n)], "
        "importlib.util.find_spec('pip') is not None)"
    )
    found = buildah("run", "--isolation", "chroot", container, "--", "python3", "-c", probe)
    assert found == "[] False", f"build tools in the image: {found}"


def test_the_entrypoint_refuses_anything_but_a_service_or_the_cli(
    image: str, container: str
) -> None:
    entrypoint = [str(part) for part in config(image)["Entrypoint"]]
    done = image_sh("buildah", "run", "--isolation", "chroot", container, "--", *entrypoint, "x")
    assert done.returncode != 0, done.stderr
    assert "usage: entrypoint" in done.stderr, done.stderr
    done = image_sh(
        "buildah", "run", "--isolation", "chroot", container, "--", *entrypoint,
        "hotline", "migrate", "--help",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "SERVICE" in done.stdout, done.stdout


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_answers_livez_with_no_dependencies(
    image: str, container: str, service: str, tmp_path: Path
) -> None:
    port, nowhere = free_port(), free_port()  # nothing listens on `nowhere`
    entrypoint = [str(part) for part in config(image)["Entrypoint"]]
    env = {
        "HOTLINE_HOST": "127.0.0.1",
        "HOTLINE_PORT": str(port),
        "HOTLINE_KAFKA_BOOTSTRAP": f"127.0.0.1:{nowhere}",
        "HOTLINE_DATABASE_URL": f"postgresql://hotline@127.0.0.1:{nowhere}/{service}",
    }
    log = tmp_path / "service.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", str(DEPLOY / "image.sh"), "buildah", "run", "--isolation", "chroot",
             *[f"--env={k}={v}" for k, v in env.items()], container, "--", *entrypoint, service],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline, livez = time.monotonic() + START_SECONDS, None
        while time.monotonic() < deadline and livez is None:
            if process.poll() is not None:
                pytest.fail(
                    f"{service} exited ({process.returncode}) with Kafka and PostgreSQL "
                    "unreachable; /livez must answer without them (the degraded start in "
                    f"shared/runtime/app.py). Its log:\n{log.read_text()[-3000:]}"
                )
            try:
                livez = httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2)
            except httpx.TransportError:
                time.sleep(0.5)
        assert livez is not None, f"{service}: no answer in {START_SECONDS} s\n{log.read_text()}"
        assert livez.status_code == 200
        assert livez.json() == {"status": "ok"}
        readyz = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert readyz.status_code == 503, "unready while its database and broker are away"
        assert readyz.json()["checks"]["database"] is False
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

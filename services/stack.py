"""`make run`: the whole local stack in the foreground until Ctrl-C.

Starts PostgreSQL and Kafka (unless already running), creates topics, migrates, seeds demo
routing, starts the four services with uvicorn, prints their URLs and a development token,
then waits. Ctrl-C (or SIGTERM) stops the services and whatever infrastructure it started.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from services.catalog import SERVICES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, cwd=ROOT)


def _running(script: str) -> bool:
    return subprocess.run(["bash", script, "status"], cwd=ROOT, capture_output=True).returncode == 0


def _wait_ready(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def main() -> int:
    started_infra = [s for s in ("services/postgres.sh", "services/kafka.sh") if not _running(s)]
    for script in started_infra:
        _sh("bash", script, "start")
    children: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        _sh(str(BIN / "hotline"), "topics")
        _sh(str(BIN / "hotline"), "migrate")
        _sh(str(BIN / "hotline"), "seed")
        logs = ROOT / ".cache" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for service in SERVICES.values():
            port = int(os.environ.get(f"HOTLINE_{service.name.upper()}_PORT", service.default_port))
            ports.append(port)
            with (logs / f"{service.name}.log").open("ab") as log:
                children.append(
                    subprocess.Popen(
                        [
                            str(BIN / "uvicorn"),
                            "--factory",
                            service.app,
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                            "--no-access-log",
                        ],
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env={**os.environ, "HOTLINE_PORT": str(port)},
                    )
                )
            print(
                f"{service.name:9} http://127.0.0.1:{port}  (log: .cache/logs/{service.name}.log)"
            )
        deadline = time.monotonic() + 60
        for service, port in zip(SERVICES.values(), ports, strict=True):
            if not _wait_ready(port, deadline):
                print(f"{service.name} did not become ready; see its log", file=sys.stderr)
                return 1
        token = subprocess.run(
            [str(BIN / "hotline"), "token"], check=True, cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        print(f"\nAll four services are ready. Operator token (12 h):\n\n{token}\n")
        print("Department tokens: .venv/bin/hotline token --department water")
        print("Press Ctrl-C to stop everything this command started.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a service exited; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=25)
            except subprocess.TimeoutExpired:
                child.kill()
        for script in reversed(started_infra):
            subprocess.run(["bash", script, "stop"], cwd=ROOT, check=False)


if __name__ == "__main__":
    sys.exit(main())

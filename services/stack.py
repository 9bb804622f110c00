"""`make run`: the whole local stack in the foreground until Ctrl-C.

Starts PostgreSQL and Kafka (unless already running), creates topics, migrates, seeds demo
routing, starts the four services, prints their URLs, a development token and the demo
partner's Open311 api_key, then waits.
Ctrl-C (or SIGTERM) stops the services and whatever infrastructure it started.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from types import FrameType

from services.catalog import SERVICES
from services.processes import ROOT, ServiceProcess

BIN = Path(sys.executable).parent
LOGS = ROOT / ".cache" / "logs"
DEMO_PARTNER = "demo-partner"


def open311_keys(environ: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """intake's extra environment and the line telling whoever runs the stack how to file
    through Open311: one demo partner's key (HOTLINE_DEMO_API_KEY, default `demo-key`),
    unless HOTLINE_GEOREPORT_API_KEYS already sets the keys."""
    if environ.get("HOTLINE_GEOREPORT_API_KEYS"):
        return {}, "Open311 api_keys: as HOTLINE_GEOREPORT_API_KEYS sets them"
    key = environ.get("HOTLINE_DEMO_API_KEY") or "demo-key"
    return (
        {"HOTLINE_GEOREPORT_API_KEYS": json.dumps({key: DEMO_PARTNER})},
        f"Open311 api_key of partner {DEMO_PARTNER}: {key}",
    )


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, cwd=ROOT)


def _running(script: str) -> bool:
    return subprocess.run(["bash", script, "status"], cwd=ROOT, capture_output=True).returncode == 0


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def development_environment(environ: MutableMapping[str, str]) -> str:
    """The stack runs with the built-in development keys, which only an explicit
    HOTLINE_ENVIRONMENT=development allows (unset is production): set it unless the caller
    chose an environment, and return the line that says so."""
    if "HOTLINE_ENVIRONMENT" in environ:
        return f"HOTLINE_ENVIRONMENT={environ['HOTLINE_ENVIRONMENT']} (as set by the caller)"
    environ["HOTLINE_ENVIRONMENT"] = "development"
    return (
        "HOTLINE_ENVIRONMENT=development: built-in signing, rating-link and channel keys, "
        "webhooks to private addresses allowed. Never expose this stack."
    )


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    print(development_environment(os.environ))
    started_infra = [s for s in ("services/postgres.sh", "services/kafka.sh") if not _running(s)]
    processes: list[ServiceProcess] = []
    open311_env, open311_line = open311_keys(os.environ)
    try:
        for script in started_infra:
            _sh("bash", script, "start")
        for command in ("topics", "migrate", "seed"):
            _sh(str(BIN / "hotline"), command)
        for service in SERVICES.values():
            port = int(os.environ.get(f"HOTLINE_{service.name.upper()}_PORT", service.default_port))
            env = open311_env if service.name == "intake" else {}
            process = ServiceProcess(service, LOGS, port=port, env=dict(env))
            process.start()
            processes.append(process)
            print(f"{service.name:9} {process.url}  (log: {process.log_file.relative_to(ROOT)})")
        for process in processes:
            asyncio.run(process.ready())
        token = subprocess.run(
            [str(BIN / "hotline"), "token"], check=True, cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        print(f"\nAll four services are ready. Operator token (12 h):\n\n{token}\n")
        print("A department's token: .venv/bin/hotline token --department water")
        print(open311_line)
        print("Press Ctrl-C to stop everything this command started.")
        while all(process.alive() for process in processes):
            time.sleep(0.5)
        print("a service exited; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            process.stop()
        for script in reversed(started_infra):
            subprocess.run(["bash", script, "stop"], cwd=ROOT, check=False)


if __name__ == "__main__":
    sys.exit(main())

"""`make run`: the whole local stack in the foreground until Ctrl-C.

Starts PostgreSQL and Kafka (unless already running), creates topics, migrates, seeds demo
routing, starts the four services (REPLICAS=N processes of each, default 1), prints their
URLs, a development token and the demo partner's Open311 api_key, then waits.

Replica i of a service listens on its port + 10*i (intake 8001, 8011, ...): its web
processes there, its worker (relay, consume loop, timers) on that port + 5 for health and
metrics (services/entrypoint.py). Replicas' workers are dynamic group members, share their
topics' partitions, and elect one outbox relay per service; any replica answers the HTTP API.
Ctrl-C (or SIGTERM) stops the services and whatever infrastructure it started.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, MutableMapping, Sequence
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


REPLICA_PORT_STEP = 10
# Each replica is the production layout: web processes on its port (HOTLINE_WEB_PROCESSES)
# and a worker process (relay, consume loop, timers) answering health on port + 5.
WORKER_PORT_OFFSET = 5
MAX_REPLICAS = 9


def replicas(environ: Mapping[str, str]) -> int:
    value = environ.get("REPLICAS") or "1"
    if not value.isdigit() or not 1 <= int(value) <= MAX_REPLICAS:
        raise SystemExit(f"REPLICAS must be a whole number from 1 to {MAX_REPLICAS}, not {value!r}")
    return int(value)


def addresses(environ: Mapping[str, str]) -> dict[str, str]:
    """Where the services find one another, and the links they hand out, at the ports chosen
    (HOTLINE_<SERVICE>_PORT): feedback and audit ask intake for citizens' keys, receipts
    link to audit, rating links to feedback. An address set explicitly is kept (a LAN
    address, say, so that a phone can open the links)."""

    def at(name: str) -> str:
        port = environ.get(f"HOTLINE_{name.upper()}_PORT", SERVICES[name].default_port)
        return f"http://127.0.0.1:{port}"

    derived = {
        "HOTLINE_INTAKE_URL": at("intake"),
        "HOTLINE_AUDIT_PUBLIC_URL": at("audit"),
        "HOTLINE_RATING_LINK_BASE_URL": f"{at('feedback')}/v1/rating-links",
    }
    return {name: url for name, url in derived.items() if name not in environ}  # set wins


def replica_env(environ: Mapping[str, str], index: int, count: int) -> dict[str, str]:
    """A replica's own settings: a static instance id (if one is set) made unique, since two
    members with one id fence each other off."""
    instance = environ.get("HOTLINE_CONSUMER_INSTANCE_ID")
    if count > 1 and instance:
        return {"HOTLINE_CONSUMER_INSTANCE_ID": f"{instance}-{index}"}
    return {}


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, cwd=ROOT)


def _running(script: str) -> bool:
    return subprocess.run(["bash", script, "status"], cwd=ROOT, capture_output=True).returncode == 0


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    # Deaf to the next one before anything else runs: `kill` of make's process group and
    # make's own SIGTERM reach the stack together, and a second KeyboardInterrupt raised
    # before `stop_everything` began left every service running.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
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
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    print(development_environment(os.environ))
    started_infra = [s for s in ("services/postgres.sh", "services/kafka.sh") if not _running(s)]
    processes: list[ServiceProcess] = []
    count = replicas(os.environ)
    open311_env, open311_line = open311_keys(os.environ)
    try:
        for script in started_infra:
            _sh("bash", script, "start")
        for command in ("topics", "migrate", "seed"):
            _sh(str(BIN / "hotline"), command)
        for service in SERVICES.values():
            port = int(os.environ.get(f"HOTLINE_{service.name.upper()}_PORT", service.default_port))
            for index in range(count):
                env = dict(open311_env) if service.name == "intake" else {}
                env |= replica_env(os.environ, index, count)
                env |= addresses(os.environ)
                replica_port = port + REPLICA_PORT_STEP * index
                process = ServiceProcess(
                    service,
                    LOGS,
                    port=replica_port,
                    env=env,
                    split=True,
                    worker_port=replica_port + WORKER_PORT_OFFSET,
                )
                process.start()
                processes.append(process)
                label = service.name if count == 1 else f"{service.name}#{index + 1}"
                log = process.log_file.relative_to(ROOT)
                print(f"{label:11} {process.url}  (worker :{process.worker_port}, log: {log})")
        for process in processes:
            asyncio.run(process.ready())
        token = subprocess.run(
            [str(BIN / "hotline"), "token"], check=True, cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        ready = (
            "All four services are ready"
            if count == 1
            else f"{count} replicas of each service are ready"
        )
        print(f"\n{ready}. Operator token (12 h):\n\n{token}\n")
        print(
            "A department's token: HOTLINE_ENVIRONMENT=development "
            ".venv/bin/hotline token --department water"
        )
        print(open311_line)
        print("Press Ctrl-C to stop everything this command started.")
        while all(process.alive() for process in processes):
            time.sleep(0.5)
        print("a service exited; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_everything(processes, started_infra)


def stop_everything(processes: Sequence[ServiceProcess], started_infra: Sequence[str]) -> None:
    """Each service drains and stops (at most 30 s, then killed), then what the stack
    started of PostgreSQL and Kafka. Deaf to SIGINT and SIGTERM meanwhile: a second one
    (make forwards SIGTERM to its child after the process group got its own, or Ctrl-C
    pressed twice) cut the stop short and left services running in process groups of
    their own."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    for process in processes:
        process.stop()
    for script in reversed(started_infra):
        subprocess.run(["bash", script, "stop"], cwd=ROOT, check=False)


if __name__ == "__main__":
    sys.exit(main())

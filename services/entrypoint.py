"""The container image's entrypoint: its first argument chooses what the container runs.

entrypoint SERVICE          serve intake, dispatch, feedback or audit in one process: the
                            HTTP API, the outbox relay, the consume loop and the timers
entrypoint SERVICE web      the HTTP API only, in HOTLINE_WEB_PROCESSES uvicorn workers
                            (default 2), so requests use more than one core
entrypoint SERVICE worker   the relay, the consume loop and the timers in a process of their
                            own (HTTP only for /livez, /readyz and /metrics), so consumption
                            and HTTP never share an event loop
entrypoint hotline ARGS...  the operator CLI, e.g. `hotline migrate intake` (migration Job)

Host and port come from the service's HOTLINE_* settings; a worker beside web processes
(one pod, or `make run`) is given a port of its own (HOTLINE_PORT).
"""

import os
import sys
import tempfile

import uvicorn

from services.catalog import SERVICES
from shared.runtime import kafka, metrics
from shared.runtime.settings import load

# SIGTERM: uvicorn stops accepting and gives requests in flight this long, then the lifespan
# drains the consume loop and relay (up to 20 s); the pod's grace period is 30 s after a
# 5 s preStop pause, so the two together stay inside it.
GRACEFUL_HTTP_SECONDS = 5
WORKER_HEALTHCHECK_SECONDS = 30
ROLES = ("all", "web", "worker")


def usage() -> str:
    return (
        f"usage: entrypoint {{{','.join(SERVICES)}}} [{'|'.join(ROLES)}]"
        " | entrypoint hotline ARGS..."
    )


def serve(name: str, role: str = "all") -> None:
    service = SERVICES[name]
    # Read by the app factory in this process and in every uvicorn worker it spawns.
    os.environ["HOTLINE_PROCESS_ROLE"] = role
    settings = load(service.settings)
    # Fail fast: bad settings or unreadable TLS files stop the start here, with their name,
    # instead of failing the relay and the consume loop over and over in the background.
    kafka.client_security()
    workers = settings.web_processes if role == "web" else 1
    if workers > 1:
        # prometheus_client counts per process: the workers write their samples to files
        # here and /metrics, whichever worker answers it, sums them (metrics.exposition).
        os.environ[metrics.MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix=f"{name}-metrics-")
    uvicorn.run(
        service.app,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=None,  # the service's JSON logging (shared.runtime.logs) applies
        access_log=False,  # the request middleware logs requests, health probes excepted
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=GRACEFUL_HTTP_SECONDS,
        # The supervisor restarts a worker that does not answer its ping within this: a slow
        # start (imports on a busy node) must not count as a hang, or it restarts forever.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    match args:
        case [name] if name in SERVICES:
            serve(name)
        case [name, role] if name in SERVICES and role in ROLES:
            serve(name, role)
        case ["hotline", *rest]:
            from services import cli  # typer: about 2 MB a service's processes need not hold

            cli.main(rest)
        case _:
            print(usage(), file=sys.stderr)
            raise SystemExit(2)


if __name__ == "__main__":
    main()

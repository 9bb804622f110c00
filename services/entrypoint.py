"""The container image's entrypoint: its first argument chooses what the container runs.

entrypoint SERVICE          serve intake, dispatch, feedback or audit (one uvicorn worker;
                            host and port from the service's HOTLINE_* settings)
entrypoint hotline ARGS...  the operator CLI, e.g. `hotline migrate intake` (migration Job)
"""

import sys

import uvicorn

from services import cli
from services.catalog import SERVICES
from shared.runtime import kafka
from shared.runtime.settings import load

# SIGTERM: uvicorn stops accepting and gives requests in flight this long, then the lifespan
# drains the consume loop and relay (up to 20 s); the pod's grace period is 30 s after a
# 5 s preStop pause, so the two together stay inside it.
GRACEFUL_HTTP_SECONDS = 5


def usage() -> str:
    return f"usage: entrypoint {{{','.join(SERVICES)}}} | entrypoint hotline ARGS..."


def serve(name: str) -> None:
    service = SERVICES[name]
    settings = load(service.settings)
    # Fail fast: bad settings or unreadable TLS files stop the start here, with their name,
    # instead of failing the relay and the consume loop over and over in the background.
    kafka.client_security()
    uvicorn.run(
        service.app,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=1,  # scale with replicas: prometheus_client counts per process
        log_config=None,  # the service's JSON logging (shared.runtime.logs) applies
        access_log=False,  # the request middleware logs requests, health probes excepted
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_HTTP_SECONDS,
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    match args:
        case [name] if name in SERVICES:
            serve(name)
        case ["hotline", *rest]:
            cli.main(rest)
        case _:
            print(usage(), file=sys.stderr)
            raise SystemExit(2)


if __name__ == "__main__":
    main()

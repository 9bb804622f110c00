"""A service as a real uvicorn process: for `make run`, the tests (which SIGKILL and restart
them) and the benchmarks."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.catalog import Service

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    service: Service
    logs: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.logs / f"{self.service.name}-{self.port}.log"

    def start(self, **extra_env: str) -> None:
        """Start (or restart) the process; `extra_env` applies to this start only."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    self.service.app,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "HOTLINE_PORT": str(self.port), **self.env, **extra_env},
            )

    async def ready(self, deadline_seconds: float = 60, *, degraded: bool = False) -> None:
        """Wait until /readyz answers 200 with every dependency up (Kafka too: a pod is
        ready without it, but tests and `make run` want the whole path), or with `degraded`
        200 in any state; fails at once if the process exits."""
        async with httpx.AsyncClient() as client, asyncio.timeout(deadline_seconds):
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.service.name} exited; see {self.log_file}")
                try:
                    answer = await client.get(f"{self.url}/readyz")
                    if answer.status_code == 200 and (
                        degraded or answer.json()["status"] == "ready"
                    ):
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)

    async def exited(self, deadline_seconds: float = 60) -> int:
        assert self.process is not None
        async with asyncio.timeout(deadline_seconds):
            while True:
                if (code := self.process.poll()) is not None:
                    return code
                await asyncio.sleep(0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM: the service drains (finishes the record in hand, commits its offset)."""
        if self.process is not None and self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

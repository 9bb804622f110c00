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
    """One process serving everything, or with `split` the production layout
    (services/entrypoint.py): web processes on `port` and a worker process (relay, consume
    loop, timers) on `worker_port`, started, awaited and stopped together."""

    service: Service
    logs: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    split: bool = False
    worker_port: int = field(default_factory=free_port)
    worker: subprocess.Popen[bytes] | None = None

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in (self.process, self.worker) if p is not None]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.logs / f"{self.service.name}-{self.port}.log"

    def start(self, **extra_env: str) -> None:
        """Start (or restart) the process; `extra_env` applies to this start only."""
        self.logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HOTLINE_PORT": str(self.port), **self.env, **extra_env}
        if not self.split:
            uvicorn = ["-m", "uvicorn", "--factory", self.service.app, "--host", "127.0.0.1"]
            args = [*uvicorn, "--port", str(self.port), "--no-access-log"]
            self.process = self._popen(args, env)
            return
        entrypoint = ["-m", "services.entrypoint", self.service.name]
        env["HOTLINE_HOST"] = "127.0.0.1"
        self.process = self._popen([*entrypoint, "web"], env)
        self.worker = self._popen(
            [*entrypoint, "worker"], env | {"HOTLINE_PORT": str(self.worker_port)}
        )

    def _popen(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self.log_file.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                # split: a group of its own, so a SIGKILL reaches the uvicorn workers too
                start_new_session=self.split,
            )

    async def ready(self, deadline_seconds: float = 60, *, degraded: bool = False) -> None:
        """Wait until /readyz answers 200 with every dependency up (Kafka too: a pod is
        ready without it, but tests and `make run` want the whole path), or with `degraded`
        200 in any state; fails at once if the process exits."""
        ports = [self.port, self.worker_port] if self.split else [self.port]
        for port in ports:
            await self._ready(f"http://127.0.0.1:{port}", deadline_seconds, degraded=degraded)

    async def _ready(self, url: str, deadline_seconds: float, *, degraded: bool) -> None:
        async with httpx.AsyncClient() as client, asyncio.timeout(deadline_seconds):
            while True:
                assert self.process is not None
                if not self.alive():
                    raise RuntimeError(f"{self.service.name} exited; see {self.log_file}")
                try:
                    answer = await client.get(f"{url}/readyz")
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
        running = [p.poll() is None for p in self.processes]
        return bool(running) and all(running)

    def kill(self) -> None:
        for process in self.processes:
            self._kill(process)

    def stop(self, grace_seconds: float = 30) -> None:
        """SIGTERM: the service drains (finishes the record in hand, commits its offset); a
        process still running after `grace_seconds` is killed, its uvicorn workers too."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                self._kill(process)

    def _kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            if self.split:  # the process's own group: its uvicorn workers are in it
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.send_signal(signal.SIGKILL)
            process.wait()

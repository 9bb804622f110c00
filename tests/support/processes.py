"""The services as real processes (uvicorn), so tests can SIGKILL and restart them."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.catalog import SERVICES, Service
from shared.runtime import auth
from tests.support import infra

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / ".cache" / "test-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    service: Service
    database_url: str
    group: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **env: str) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = (LOGS / f"{self.service.name}-{self.port}.log").open("ab")
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
            env={
                **os.environ,
                "HOTLINE_DATABASE_URL": self.database_url,
                "HOTLINE_KAFKA_BOOTSTRAP": infra.KAFKA,
                "HOTLINE_CONSUMER_GROUP": self.group,
                "HOTLINE_CONSUMER_INSTANCE_ID": self.group,
                "HOTLINE_ENVIRONMENT": "test",
                **env,
            },
        )
        log.close()

    async def ready(self, deadline_seconds: float = 60) -> None:
        async with httpx.AsyncClient() as client, asyncio.timeout(deadline_seconds):
            while True:
                assert self.process is not None
                assert self.process.poll() is None, f"{self.service.name} exited; see {LOGS}"
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
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

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def make(name: str) -> ServiceProcess:
    """A service with a fresh migrated database and a consumer group of its own."""
    service = SERVICES[name]
    url = await infra.fresh_database(f"t_{name}", service.migrations)
    return ServiceProcess(service, url, group=f"{name}-{uuid.uuid4().hex[:8]}")


def token(*scopes: str, department: str | None = None) -> str:
    settings = SERVICES["intake"].settings(database_url="postgresql+asyncpg://unused/x")
    return auth.mint(
        settings,
        subject=f"department:{department}" if department else "operator:test",
        scopes=list(scopes),
        department=department,
    )


def bearer(*scopes: str, department: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*scopes, department=department)}"}


OPERATOR = (
    "appeals:write",
    "appeals:read",
    "workorders:read",
    "ratings:write",
    "feedback:read",
    "audit:read",
    "audit:replay",
)

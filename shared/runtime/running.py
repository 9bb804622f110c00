"""What a running service holds (`Runtime`), and how its routes reach it (`get_runtime`)."""

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.runtime.changes import ChangeFeed
from shared.runtime.consumer import ConsumeLoop
from shared.runtime.database import Database, Transactions
from shared.runtime.outbox import OutboxRelay
from shared.runtime.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass
class Runtime(Generic[SettingsT]):
    """What a running service holds; routes reach it through a `Runtime[TheirSettings]`
    dependency (each service names one alias), so settings are typed without casts."""

    settings: SettingsT
    engine: AsyncEngine
    db: Database
    migrations_dir: Path
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    relay: OutboxRelay | None = None
    loop: ConsumeLoop | None = None
    changes: ChangeFeed | None = None  # waiting GETs' wake-ups; none: no waiting
    # Where a route whose command may share its transaction runs it (commit_groups): the
    # database itself (a transaction each) unless group commit is on.
    commits: Transactions = field(init=False)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.commits = self.db


async def get_runtime(request: Request) -> Runtime[Any]:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop (and GIL
    # hand-over) on every request for one attribute read.
    runtime: Runtime[Any] = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime[ServiceSettings], Depends(get_runtime)]

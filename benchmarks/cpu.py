"""Where the machine's CPU goes, by process, from /proc: each service's web and worker
processes, PostgreSQL's backends by database, the rest of PostgreSQL, Kafka, this process,
and what the whole machine spent and left idle (other sessions' work shows there)."""

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from benchmarks import measure
from tests.support import infra

TICK = os.sysconf("SC_CLK_TCK")
_UNNAMED = "postgres forked, not yet named"


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _own_seconds(pid: int, *, reaped: bool = False) -> float:
    """utime + stime (and with `reaped` the children already waited for: a short-lived
    PostgreSQL backend's CPU stays counted in its postmaster's cutime/cstime)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _first_number(path: Path) -> int:
    return int(path.read_text().split()[0])


def _machine() -> tuple[int, int]:
    """(busy, idle) jiffies of the whole machine so far."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields[:8]) - idle, idle  # guest time is already in user


@dataclass
class Snapshot:
    buckets: dict[str, float]  # name -> CPU seconds so far
    backends: dict[int, tuple[str, float]]  # PostgreSQL child pid -> (bucket, seconds)
    postgres: float  # postmaster with its reaped children and every live child
    machine: tuple[int, int]


class Processes:
    """What to watch: named process trees (a service's web or worker process with its
    uvicorn workers), PostgreSQL (its backends named by their database), Kafka."""

    def __init__(self, trees: dict[str, int], databases: dict[str, str]) -> None:
        self.trees = trees
        self.databases = databases  # database name -> bucket
        # The test stack's (services/with-test-stack.sh sets HOTLINE_STACK_DIR)
        stack = Path(os.environ.get("HOTLINE_STACK_DIR", ".cache/test-stack"))
        self.postmaster = _first_number(stack / "postgres" / "data" / "postmaster.pid")
        self.kafka = _first_number(stack / "kafka" / "kafka.pid")
        # Every PostgreSQL child seen so far, with its CPU when last seen: a short-lived one
        # (an autovacuum worker, a connection opened and closed) counts up to its last sample.
        self._seen: dict[int, tuple[str, float]] = {}

    def sample(self) -> None:
        """Look at PostgreSQL's children now (call often to catch short-lived ones)."""
        for child in _children(self.postmaster):
            known = self._seen.get(child)
            # Named once it has its title (right after the fork it still shows the postmaster's)
            name = known[0] if known and known[0] != _UNNAMED else self._name(child)
            self._seen[child] = (name, _own_seconds(child))

    def _name(self, child: int) -> str:
        words = _cmdline(child).split()
        # "postgres: ROLE DATABASE HOST(PORT) STATE" for a client backend (the services'
        # as the runtime role, the bench's as the owner), "postgres: walwriter" and so on
        if len(words) > 3 and "(" in words[3]:
            name = self.databases.get(words[2], "other clients")
            name = "bench" if words[1] == infra.OWNER else name
        elif words and words[0] == "postgres:":
            name = " ".join(words[1:3])
        else:
            return _UNNAMED
        return f"postgres {name}"

    def snapshot(self) -> Snapshot:
        buckets = {name: measure.cpu_seconds(pid) for name, pid in self.trees.items()}
        buckets["kafka"] = _own_seconds(self.kafka, reaped=True)
        own = os.times()
        buckets["bench client"] = own.user + own.system
        postgres = _own_seconds(self.postmaster, reaped=True)
        postgres += sum(_own_seconds(child) for child in _children(self.postmaster))
        self.sample()
        backends = dict(self._seen)
        return Snapshot(buckets, backends, postgres, _machine())


async def keep_sampling(watched: Processes) -> None:
    """Sample until cancelled: short-lived PostgreSQL backends are caught by name between
    snapshots."""
    while True:
        watched.sample()
        await asyncio.sleep(0.2)


def per_item(before: Snapshot, after: Snapshot, items: int) -> dict[str, float]:
    """CPU ms per item of each bucket between two snapshots, the machine's busy ms per item
    (everything, other sessions included) and its idle share."""
    spent = {name: after.buckets[name] - before.buckets.get(name, 0.0) for name in after.buckets}
    backends: dict[str, float] = {}
    for pid, (bucket, seconds) in after.backends.items():
        earlier = before.backends.get(pid)
        backends[bucket] = backends.get(bucket, 0.0) + seconds - (earlier[1] if earlier else 0.0)
    spent |= backends
    live = sum(backends.values())
    spent["postgres unsampled and postmaster"] = after.postgres - before.postgres - live
    busy = (after.machine[0] - before.machine[0]) / TICK
    idle = (after.machine[1] - before.machine[1]) / TICK
    result = {name: round(seconds * 1000 / items, 3) for name, seconds in sorted(spent.items())}
    result["sum of the above"] = round(sum(spent.values()) * 1000 / items, 3)
    result["machine busy"] = round(busy * 1000 / items, 3)
    result["machine idle share"] = round(idle / (busy + idle), 3) if busy + idle else 0.0
    return result

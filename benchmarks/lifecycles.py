"""Whole lifecycles over the REST APIs, many at once: each appeal is filed, assigned by
dispatch, signed for and replied to by the department, approved by the hotline centre,
called back (the citizen reached, satisfied) and closed by dispatch, as
tests/e2e/test_happy_path.py and test_feedback_loop.py take it.

`concurrency` lifecycles are in flight at any time for `seconds`; a lifecycle's time runs
from its POST until dispatch shows the work order closed. Waiting on another service's
reaction is a GET that waits for a change (`Prefer: wait` with If-None-Match, see
shared.runtime.changes) instead of polling; an answer that is not yet what the step waits
for is not an error, any unexpected status or a step over STEP_SECONDS is.
"""

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.client import Pool, Response, another_citizen
from benchmarks.paced import quantiles_ms

STEP_SECONDS = 30
WAIT_SECONDS = 20  # a waiting GET's bound, under the client's 30 s per request


class LifecycleError(Exception):
    pass


@dataclass
class Tally:
    durations: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    reads: int = 0  # GETs waiting on another service (answered at its change)
    steps: dict[str, list[float]] = field(default_factory=dict)  # seconds each step took

    def step(self, name: str, began: float) -> float:
        now = time.perf_counter()
        self.steps.setdefault(name, []).append(now - began)
        return now


@dataclass(frozen=True)
class Services:
    intake: Pool
    dispatch: Pool
    feedback: Pool


def _expect(response: Response, status: int, what: str) -> Any:
    if response.status != status:
        raise LifecycleError(f"{what}: {response.status} {response.body[:200]!r}")
    return response.json()


async def _until(
    tally: Tally,
    pool: Pool,
    path: str,
    headers: dict[str, str],
    ready: Callable[[dict[str, Any]], bool],
    what: str,
) -> dict[str, Any]:
    """Ask, waiting for a change (`Prefer: wait`, as README's client does): held while the
    resource is absent, then, while the answer is not `ready`, with If-None-Match and the
    ETag last seen. The service answers when the resource changes, so no request is spent
    on an absent or unchanged one."""
    deadline = time.perf_counter() + STEP_SECONDS
    etag: str | None = None  # the last answer's
    while (left := deadline - time.perf_counter()) > 0:
        asking = {**headers, "Prefer": f"wait={max(1, min(WAIT_SECONDS, int(left)))}"}
        if etag is not None:
            asking["If-None-Match"] = etag
        response = await pool.request("GET", path, headers=asking)
        tally.reads += 1
        if response.status == 200:
            body: dict[str, Any] = response.json()
            if ready(body):
                return body
        elif response.status not in (304, 404):  # 404: not seen the fact yet; 304: unchanged
            raise LifecycleError(f"{what}: {response.status} {response.body[:200]!r}")
        etag = response.etag
    raise LifecycleError(f"{what}: not within {STEP_SECONDS} s")


async def one_lifecycle(
    services: Services,
    tally: Tally,
    *,
    appeal: dict[str, Any],
    operator: dict[str, str],
    department: dict[str, str],
) -> None:
    began = time.perf_counter()
    created = _expect(
        await services.intake.request(
            "POST", "/v1/appeals", headers=operator, body=another_citizen(appeal)
        ),
        201,
        "file",
    )
    began = tally.step("file", began)
    appeal_id = created["id"]
    order_path = f"/v1/work-orders/{appeal_id}"
    feedback_path = f"/v1/appeals/{appeal_id}"
    order = await _until(
        tally, services.dispatch, order_path, department, lambda _: True, "assigned"
    )
    began = tally.step("assigned (wait)", began)
    _expect(
        await services.dispatch.request(
            "POST",
            f"{order_path}/sign-for",
            headers={**department, "If-Match": f'"{order["version"]}"'},
            body={"person": "李工"},
        ),
        200,
        "sign-for",
    )
    began = tally.step("sign-for", began)
    await _until(
        tally,
        services.feedback,
        f"{feedback_path}/feedback",
        operator,
        lambda b: bool(b["signed_for"]),
        "feedback sees the sign-for",
    )
    began = tally.step("feedback sees the sign-for (wait)", began)
    steps: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        ("replies", department, {"result": "solved", "reply": "已更换破损供水管道，恢复供水"}),
        ("reviews", operator, {"decision": "approved"}),
        ("callbacks", operator, {"reached": True, "satisfaction": "satisfied", "solved": True}),
    ]
    for path, headers, body in steps:
        _expect(
            await services.feedback.request(
                "POST", f"{feedback_path}/{path}", headers=headers, body=body
            ),
            201,
            path,
        )
        began = tally.step(path, began)
    tally.requests += 5
    await _until(
        tally, services.dispatch, order_path, operator, lambda b: b["stage"] == "closed", "closed"
    )
    tally.step("closed (wait)", began)


async def run(
    urls: dict[str, str],
    *,
    appeal: dict[str, Any],
    operator: dict[str, str],
    department: dict[str, str],
    concurrency: int,
    seconds: float,
) -> dict[str, Any]:
    services = Services(Pool(urls["intake"]), Pool(urls["dispatch"]), Pool(urls["feedback"]))
    tally = Tally()
    started = time.perf_counter()
    stop_at = started + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            try:
                await one_lifecycle(
                    services, tally, appeal=appeal, operator=operator, department=department
                )
            except (LifecycleError, OSError, EOFError, TimeoutError, ValueError, KeyError) as exc:
                tally.errors.append(repr(exc))
                continue
            tally.durations.append(time.perf_counter() - began)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    for pool in (services.intake, services.dispatch, services.feedback):
        pool.close()
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
        "completed": len(tally.durations),
        "lifecycles_per_s": round(len(tally.durations) / elapsed, 1),
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
        "commands": tally.requests,
        "reads": tally.reads,
        **quantiles_ms(tally.durations),
        "steps_p50_ms": {
            name: round(statistics.median(times) * 1000, 1) for name, times in tally.steps.items()
        },
    }

"""Whole lifecycles over the REST APIs, many at once: each appeal is filed, assigned by
dispatch, signed for and replied to by the department, approved by the hotline centre,
called back (the citizen reached, satisfied) and closed by dispatch, as
tests/e2e/test_happy_path.py and test_feedback_loop.py take it.

`concurrency` lifecycles are in flight at any time for `seconds`; a lifecycle's time runs
from its POST until dispatch shows the work order closed. Waiting on another service's
reaction is a poll of that service's API with a short back-off; a poll that is not yet
satisfied is not an error, any unexpected status or a step over STEP_SECONDS is.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.client import Pool, Response, another_citizen
from benchmarks.paced import quantiles_ms

STEP_SECONDS = 30
FIRST_POLL_SECONDS = 0.005
MAX_POLL_SECONDS = 0.1


class LifecycleError(Exception):
    pass


@dataclass
class Tally:
    durations: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    polls: int = 0


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
    deadline, pause = time.perf_counter() + STEP_SECONDS, FIRST_POLL_SECONDS
    while time.perf_counter() < deadline:
        response = await pool.request("GET", path, headers=headers)
        tally.polls += 1
        if response.status == 200:
            body: dict[str, Any] = response.json()
            if ready(body):
                return body
        elif response.status != 404:  # 404: the other service has not seen the fact yet
            raise LifecycleError(f"{what}: {response.status} {response.body[:200]!r}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_POLL_SECONDS)
    raise LifecycleError(f"{what}: not within {STEP_SECONDS} s")


async def one_lifecycle(
    services: Services,
    tally: Tally,
    *,
    appeal: dict[str, Any],
    operator: dict[str, str],
    department: dict[str, str],
) -> None:
    created = _expect(
        await services.intake.request(
            "POST", "/v1/appeals", headers=operator, body=another_citizen(appeal)
        ),
        201,
        "file",
    )
    appeal_id = created["id"]
    order_path = f"/v1/work-orders/{appeal_id}"
    feedback_path = f"/v1/appeals/{appeal_id}"
    order = await _until(
        tally, services.dispatch, order_path, department, lambda _: True, "assigned"
    )
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
    await _until(
        tally,
        services.feedback,
        f"{feedback_path}/feedback",
        operator,
        lambda b: bool(b["signed_for"]),
        "feedback sees the sign-for",
    )
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
    tally.requests += 5
    await _until(
        tally, services.dispatch, order_path, operator, lambda b: b["stage"] == "closed", "closed"
    )


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
        "polls": tally.polls,
        **quantiles_ms(tally.durations),
    }

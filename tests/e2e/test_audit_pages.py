"""The auditor's pages in a real browser: Debian's headless Chromium, driven by Playwright's
Python package (no browser download), against a running audit service with real facts."""

import shutil
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import polling, processes
from tests.support.processes import OPERATOR, bearer, token

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = processes.LOGS
HOSTILE = '停水<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


async def _sign_in(page: Page, with_token: str) -> None:
    await page.fill("#token", with_token)
    await page.click("#sign-in")


async def _assigned_appeal(client: httpx.AsyncClient, stack: Stack) -> str:
    headers = bearer(*OPERATOR)
    created = await client.post(
        f"{stack.intake.url}/v1/appeals", json={**APPEAL, "content": HOSTILE}, headers=headers
    )
    assert created.status_code == 201, created.text
    appeal_id = str(created.json()["id"])
    url = f"{stack.audit.url}/v1/appeals/{appeal_id}/history"

    async def assigned() -> bool | None:
        body: dict[str, Any] = (await client.get(url, headers=headers)).json()
        return True if "appeal.assigned" in {f["type"] for f in body.get("facts", [])} else None

    await polling.until(assigned, what="audit to record the assignment")
    return appeal_id


async def test_an_auditor_reads_a_timeline_and_the_ranking_in_chromium(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        appeal_id = await _assigned_appeal(client, stack)
    month = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(f"{stack.audit.url}/ui/appeals/{appeal_id}")
            assert "/ui/login" in page.url  # no cookie yet: sent to sign in, then back

            await _sign_in(page, token("appeals:read"))  # a token without audit:read
            assert await page.inner_text("#error") == "the token lacks audit:read"
            await _sign_in(page, "not-a-token")
            assert await page.inner_text("#error") == "invalid or expired token"
            await _sign_in(page, token(*OPERATOR))
            assert page.url == f"{stack.audit.url}/ui/appeals/{appeal_id}"

            rows = page.locator("#timeline tr.fact")
            types = [await rows.nth(i).locator("td").nth(3).inner_text() for i in range(3)]
            assert types == ["appeal.received", "appeal.forwarded", "appeal.assigned"]
            assert "verified" in await page.inner_text("#verified")
            shown = await page.inner_text("#timeline")
            assert "138****8000" in shown
            assert "13800138000" not in shown
            assert "<script>window.pwned=1</script>" in shown  # shown as text, never run
            assert await page.evaluate("window.pwned") is None
            assert await page.evaluate("document.cookie") == ""  # HttpOnly: out of reach
            # For a person to look at afterwards (next to the services' logs).
            await page.screenshot(path=SHOTS / "audit-timeline.png", full_page=True)
            [cookie] = await context.cookies()
            assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
                True,
                "Strict",
                "/ui",
            )

            await page.goto(f"{stack.audit.url}/ui/ranking?month={month}")
            ranked = page.locator("#ranking tr.department")
            departments = [
                await ranked.nth(i).locator("td").nth(1).inner_text()
                for i in range(await ranked.count())
            ]
            assert "water" in departments
            # The lists never share a department and name only ranked ones (domain/kpis.py).
            red = await page.locator("#red-list li").all_inner_texts()
            black = await page.locator("#black-list li").all_inner_texts()
            assert not set(red) & set(black)
            assert set(red) | set(black) <= set(departments)
            await page.screenshot(path=SHOTS / "audit-ranking.png", full_page=True)

            # Each figure opens onto the facts behind it, each onto its appeal's timeline.
            await ranked.filter(has_text="water").locator("a").click()
            volume = page.locator("#figure-volume a")
            hrefs = [await volume.nth(i).get_attribute("href") for i in range(await volume.count())]
            mine = [h for h in hrefs if h and h.startswith(f"/ui/appeals/{appeal_id}#fact-")]
            assert len(mine) == 1, hrefs
            await page.click(f'#figure-volume a[href="{mine[0]}"]')
            assert page.url == f"{stack.audit.url}{mine[0]}"
            fact_row = page.locator(f"#timeline tr#{mine[0].partition('#')[2]}")
            assert await fact_row.locator("td").nth(3).inner_text() == "appeal.assigned"

            await page.click("nav button")  # sign out
            await page.goto(f"{stack.audit.url}/ui/ranking")
            assert "/ui/login" in page.url
        finally:
            await browser.close()

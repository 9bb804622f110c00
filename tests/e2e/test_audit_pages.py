"""The auditor's pages in a real browser: Debian's headless Chromium, driven by Playwright's
Python package (no browser download), against a running audit service with real facts.

Screenshots of the timeline and the ranking, in Chinese and in English, are kept under
.cache/artifacts/audit-pages/ for a person to look at (Chinese needs a CJK font, which
`make test` installs: services/system-packages.sh)."""

import re
import shutil
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from services.processes import ROOT
from shared.workdays import HOTLINE_ZONE
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import polling
from tests.support.processes import OPERATOR, bearer, token

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / ".cache" / "artifacts" / "audit-pages"
HOSTILE = '停水<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


def _beijing(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(HOTLINE_ZONE).strftime("%Y-%m-%d %H:%M")


async def _sign_in(page: Page, with_token: str) -> None:
    await page.fill("#token", with_token)
    await page.click("#sign-in")


async def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    await page.screenshot(path=path, full_page=True)
    print(f"screenshot: {path}")  # where a person finds it (pytest -s shows it)


async def _assigned_appeal(client: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    """A fresh appeal once audit has recorded its assignment: its history as the API gives it."""
    headers = bearer(*OPERATOR)
    created = await client.post(
        f"{stack.intake.url}/v1/appeals", json={**APPEAL, "content": HOSTILE}, headers=headers
    )
    assert created.status_code == 201, created.text
    url = f"{stack.audit.url}/v1/appeals/{created.json()['id']}/history"

    async def assigned() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(url, headers=headers)).json()
        return body if "appeal.assigned" in {f["type"] for f in body.get("facts", [])} else None

    return await polling.until(assigned, what="audit to record the assignment")


async def test_an_auditor_reads_a_timeline_and_the_ranking_in_chromium(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        history = await _assigned_appeal(client, stack)
    appeal_id = str(history["appeal_id"])
    facts = {f["type"]: f for f in history["facts"]}
    month = datetime.now(UTC).astimezone(HOTLINE_ZONE).strftime("%Y-%m")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            # A browser set to Chinese, as the hotline's auditors' are.
            context = await browser.new_context(
                locale="zh-CN", viewport={"width": 1280, "height": 900}
            )
            page = await context.new_page()
            await page.goto(f"{stack.audit.url}/ui/appeals/{appeal_id}")
            assert "/ui/login" in page.url  # no cookie yet: sent to sign in, then back
            assert await page.get_attribute("html", "lang") == "zh-CN"

            await _sign_in(page, token("appeals:read"))  # a token without audit:read
            assert await page.inner_text("#error") == "令牌缺少 audit:read 权限"
            await _sign_in(page, "not-a-token")
            assert await page.inner_text("#error") == "令牌无效或已过期"
            await _sign_in(page, token(*OPERATOR))
            assert page.url == f"{stack.audit.url}/ui/appeals/{appeal_id}"

            entries = page.locator("#timeline li.fact")
            types = [await entries.nth(i).get_attribute("data-type") for i in range(3)]
            assert types == ["appeal.received", "appeal.forwarded", "appeal.assigned"]
            assert "已验证" in await page.inner_text("#verified")
            # Each fact a sentence, at its time in Beijing time, with its proof status.
            received, assigned = facts["appeal.received"], facts["appeal.assigned"]
            first = entries.nth(0)
            assert await first.locator("time").inner_text() == _beijing(received["time"])
            said = await first.locator(".sentence").inner_text()
            assert said.startswith("话务员 test 通过电话受理一件投诉（一般，类别 water.outage）")
            assert "“停水<script>window.pwned=1</script>" in said  # shown as text, never run
            deadlines = assigned["data"]["deadlines"]
            assert await entries.nth(2).locator(".sentence").inner_text() == (
                f"派单系统 按规则 {assigned['data']['routing_rule']}"
                f"（第 {assigned['data']['routing_version']} 版）将工单派给 water"
                f"；签收期限 {_beijing(deadlines['sign_for_due'])}"
                f"，办理期限 {_beijing(deadlines['handle_due'])}"
            )
            for i in range(await entries.count()):
                assert (await entries.nth(i).locator(".proof").inner_text()).startswith("已验证")
            # The recorded data is there, folded away.
            raw = first.locator("details")
            assert await raw.get_attribute("open") is None
            assert not await raw.locator("pre").is_visible()
            assert '"channel": "phone"' in (await raw.locator("pre").text_content() or "")
            # the citizen's number is sealed in the fact: nowhere on the page, even masked
            assert "13800138000" not in await page.content()
            assert await page.evaluate("window.pwned") is None
            assert await page.evaluate("document.cookie") == ""  # HttpOnly: out of reach
            assert "未标记" in await page.inner_text("#signals")
            await _shot(page, "timeline.zh.png")
            [cookie] = await context.cookies()
            assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
                True,
                "Strict",
                "/ui",
            )

            await page.goto(f"{stack.audit.url}/ui/ranking?month={month}")
            ranked = page.locator("#ranking tr.department")
            departments = [
                await ranked.nth(i).locator("td.name").inner_text()
                for i in range(await ranked.count())
            ]
            assert "water" in departments
            # The lists never share a department and name only ranked ones (domain/standings.py).
            red = await page.locator("#red-list li").all_inner_texts()
            black = await page.locator("#black-list li").all_inner_texts()
            assert not set(red) & set(black)
            assert set(red) | set(black) <= set(departments)
            # Every column explained: what it measures, by which rule.
            headings = page.locator("#ranking thead th a")
            for i in range(await headings.count()):
                target = (await headings.nth(i).get_attribute("href") or "").lstrip("#")
                assert await page.locator(f"dt#{target} + dd").inner_text()
            assert "“满意”与“基本满意”均计为满意" in await page.inner_text("#figures")
            # the stored rule's version behind every figure
            assert re.search(r"standard v[0-9]+: ", await page.inner_text("#figures"))
            await _shot(page, "ranking.zh.png")

            # Each figure opens onto the facts behind it, each onto its appeal's timeline.
            water = ranked.filter(has_text="water")
            volume_cell = water.locator("td").nth(2).locator("a")
            assert (await volume_cell.get_attribute("href") or "").endswith("#figure-volume")
            await volume_cell.click()
            await _shot(page, "ranking-facts.zh.png")
            volume = page.locator("#figure-volume a")
            hrefs = [await volume.nth(i).get_attribute("href") for i in range(await volume.count())]
            mine = [h for h in hrefs if h and h.startswith(f"/ui/appeals/{appeal_id}#fact-")]
            assert len(mine) == 1, hrefs
            await page.click(f'#figure-volume a[href="{mine[0]}"]')
            assert page.url == f"{stack.audit.url}{mine[0]}"
            anchor = mine[0].partition("#")[2]
            fact_entry = page.locator(f"#timeline li#{anchor}")
            assert await fact_entry.get_attribute("data-type") == "appeal.assigned"

            # The switch to English, which every link then keeps.
            await page.click("#switch-language")
            assert "lang=en" in page.url
            assert await page.get_attribute("html", "lang") == "en"
            said = await page.locator(f"#timeline li#{anchor} .sentence").inner_text()
            assert said.startswith("dispatch assigned the work order to water by rule")
            assert f"handle by {_beijing(deadlines['handle_due'])}" in said
            assert "verified" in await page.inner_text("#verified")
            await _shot(page, "timeline.en.png")
            await page.click("nav a >> nth=0")  # the ranking, still in English
            assert "lang=en" in page.url
            assert (await page.inner_text("h1")).startswith("Department ranking")
            assert "on-time completion" in await page.inner_text("#ranking thead")
            await _shot(page, "ranking.en.png")

            await page.click("nav button")  # sign out
            await page.goto(f"{stack.audit.url}/ui/ranking?lang=en")
            assert "/ui/login" in page.url
            assert await page.inner_text("#sign-in") == "Sign in"  # the choice survives it
        finally:
            await browser.close()

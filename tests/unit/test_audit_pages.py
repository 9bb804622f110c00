"""The auditor's pages without a browser: every fact type told as a sentence in both
languages, in Beijing time; Chinese by default, English on request; proof status and signals
on the timeline; nothing from a fact ever rendered as markup."""

import dataclasses
import json
import re
import types
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args, get_origin
from uuid import uuid4

import httpx
import markupsafe
import pytest
from pydantic import BaseModel

from audit_service import domain, views
from audit_service.domain import gaming, hotspots, kpis, signals, standings
from audit_service.pages import ranking, render, sentences, timeline
from audit_service.pages.catalogue import CATALOGUES, Catalogue, Lang
from audit_service.pages.language import Language, from_accept_language
from audit_service.settings import AuditSettings
from shared import events
from shared.runtime import auth
from shared.runtime.auth import Principal
from tests.support import apps
from tests.unit import factories

AUDITOR = Principal("auditor-1", frozenset({views.READ}))
HOSTILE = '停水<script>window.pwned=1</script><img src=x onerror="alert(1)">'


def _one_of_each() -> list[events.Event]:
    history = factories.full_history()
    return [
        *history,
        *factories.intake_facts(history[0]),
        *factories.dispatch_facts(history[1]),
        *factories.feedback_facts(history[2]),
    ]


def _history(facts: Sequence[domain.Fact], findings: Sequence[views.Finding] = ()) -> views.History:
    """The history document as the route builds it (personal data masked)."""
    ordered = domain.timeline(facts)
    return views.History(
        appeal_id=ordered[0].subject,
        verified=all(c.verified for c in domain.verify_chains(ordered)) and not findings,
        findings=list(findings),
        buck_passing=views.BuckPassing.model_validate(signals.buck_passing(ordered)),
        gaming=views.Gaming.model_validate(gaming.gaming(ordered)),
        digest=domain.digest(ordered),
        chains=[views.Chain.model_validate(c) for c in domain.verify_chains(ordered)],
        facts=[
            views.RecordedFact(
                position=n,
                event_id=f.event_id,
                type=f.type,
                source=f.source,
                version=f.version,
                schema_version=json.loads(f.body)["schema_version"],
                actor=f.actor,
                time=f.time,
                recorded_at=f.time,
                causation_id=f.causation_id,
                hash=f.hash,
                prev_hash=f.prev_hash,
                data=domain.mask_personal_data(json.loads(f.body)["data"]),
            )
            for n, f in enumerate(ordered, start=1)
        ],
    )


def _timeline_html(
    history: views.History,
    code: Literal["zh", "en"] = "zh",
    hot_spots: list[timeline.HotSpotLine] | None = None,
) -> str:
    lang = Language(code=code, explicit=False, switch_to="/ui/x")
    entries = timeline.entries(lang.catalogue, history)
    page = render.page(
        "timeline.html",
        lang,
        title="t",
        caller=AUDITOR,
        history=history,
        entries=entries,
        rules=timeline.Rules(),
        hot_spots=hot_spots or [],
    )
    return bytes(page.body).decode()


@pytest.mark.parametrize("code", ["zh", "en"])
def test_every_fact_type_has_a_sentence_whose_fields_exist(code: Lang) -> None:
    catalogue = CATALOGUES[code]
    assert set(catalogue.facts) == set(events.EVENT_TYPES), "a fact type without a sentence"
    for fact_type, parts in catalogue.facts.items():
        known = sentences.fields_of(events.EVENT_TYPES[fact_type]) | sentences.DERIVED
        for part in parts:
            unknown = set(sentences.placeholders(part)) - known
            assert not unknown, f"{code} {fact_type}: {part!r} names {unknown}"


@pytest.mark.parametrize("code", ["zh", "en"])
@pytest.mark.parametrize("event", _one_of_each(), ids=lambda e: e.type)
def test_each_fact_reads_as_a_sentence(code: Lang, event: events.Event) -> None:
    [fact] = factories.audit_facts([event])
    recorded = json.loads(fact.body)
    said = sentences.tell(
        CATALOGUES[code],
        fact.type,
        fact.actor,
        recorded["data"],
        schema_version=recorded["schema_version"],
    )
    assert said
    assert sentences.MISSING not in said, said
    assert "{" not in said, said
    assert event.type not in said, said
    assert not re.search(r"\d{4}-\d\d-\d\dT", said), f"an ISO timestamp left raw: {said}"


def _enum_fields(model: type[BaseModel]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for name, info in model.model_fields.items():
        leaves = list(sentences._leaves(info.annotation))
        for leaf in leaves:
            if get_origin(leaf) is Literal and name != "type":
                found |= {(name, str(value)) for value in get_args(leaf)}
            elif leaf is bool:
                found |= {(name, "true"), (name, "false")}
            elif isinstance(leaf, type) and issubclass(leaf, BaseModel):
                found |= _enum_fields(leaf)
    return found


@pytest.mark.parametrize("code", ["zh", "en"])
def test_every_enum_value_of_every_fact_has_words(code: Lang) -> None:
    catalogue: Catalogue = CATALOGUES[code]
    wanted = {f"{n}.{v}" for m in events.EVENT_TYPES.values() for n, v in _enum_fields(m)}
    assert wanted - set(catalogue.words) == set()


def test_times_are_beijing_time_to_the_minute() -> None:
    assert sentences.local_time(datetime(2026, 12, 1, 1, 30, tzinfo=UTC)) == "2026-12-01 09:30"
    assert sentences.local_time("2026-12-31T16:05:00Z") == "2027-01-01 00:05"
    received = factories.received()
    assigned = factories.assigned(received)  # due: T0 (08:30 UTC) + 1 and + 15 days
    [fact] = factories.audit_facts([assigned])
    said = sentences.tell(
        CATALOGUES["zh"], fact.type, fact.actor, json.loads(fact.body)["data"], schema_version=1
    )
    assert said == (
        "派单系统 按规则 city:water.outage（第 1 版）将工单派给 water"
        "；签收期限 2026-10-10 16:30，办理期限 2026-10-24 16:30"
    )


def test_a_sign_for_names_the_signer_and_the_handling_deadline_then_in_force() -> None:
    received = factories.received()
    assigned = factories.assigned(received)
    signed = factories.dispatch_facts(assigned)[1]
    page = _timeline_html(_history(factories.audit_facts([received, assigned, signed])))
    # The page's history is masked (no audit:personal-data): the signer's name too.
    assert "water 签收了工单（签收人：李*）；办理期限 2026-10-24 16:30" in page
    assert f'datetime="{signed.time.isoformat()}">2026-10-09 16:35</time>' in page


def test_optional_details_drop_out_of_the_sentence() -> None:
    data = {"department": "water", "person": "李工"}
    said = sentences.tell(
        CATALOGUES["en"], "appeal.signed_for", "department:water", data, schema_version=1
    )
    assert said == "water signed for the work order (signed by 李工)"


def test_a_rating_written_in_schema_v1_reads_through_the_upcaster() -> None:
    data = {"round": 1, "satisfied": False, "solved": False, "comment": None, "via": "api"}
    said = sentences.tell(CATALOGUES["zh"], "appeal.rated", "operator:wang", data, schema_version=1)
    assert said.startswith("来电人经话务员评价第 1 轮办理：不满意，问题未解决"), said


def test_shares_read_as_percentages() -> None:
    assert [timeline.percent(s) for s in (0.1, 0.3333, 1.0, 0.0, None)] == [
        "10%",
        "33.3%",
        "100%",
        "0%",
        "-",
    ]


def test_actors_are_named_in_each_language() -> None:
    zh, en = CATALOGUES["zh"], CATALOGUES["en"]
    assert sentences.actor_name(zh, "service:dispatch") == "派单系统"
    assert sentences.actor_name(zh, "department:water") == "部门 water"
    assert sentences.actor_name(en, "partner:acme") == "partner acme"
    assert sentences.actor_name(en, "alice") == "alice"


def test_the_timeline_shows_each_facts_proof_status() -> None:
    history = factories.full_history()
    facts = factories.audit_facts(history)
    page = _timeline_html(_history(facts))
    assert page.count("已验证：") == len(facts)
    # A finding about the handled fact, and a tampered dispatch fact: each says so.
    handled = facts[2]
    finding = views.Finding(
        id=1,
        kind="reordered",
        appeal_id=handled.subject,
        event_id=handled.event_id,
        source="feedback",
        type=handled.type,
        version=handled.version,
        position=views.Position(topic="hotline.feedback", partition=0, offset=7),
        detail="arrived after version 2",
        found_at=datetime.now(UTC),
    )
    forged = facts[1].body.replace("city:water.outage", "city:forged")
    tampered = [facts[0], dataclasses.replace(facts[1], body=forged), *facts[2:]]
    page = _timeline_html(_history(tampered, [finding]))
    entry = _entry(page, handled.event_id)
    assert "审计发现：顺序颠倒" in entry
    assert 'class="fact broken"' in entry
    assert "dispatch 哈希链断裂" in _entry(page, facts[1].event_id)
    assert "已验证：intake 哈希链第 1 环完好" in _entry(page, facts[0].event_id)


def _entry(page: str, event_id: object) -> str:
    start = page.index(f'id="fact-{event_id}"')
    return page[page.rindex("<li", 0, start) : page.index("</li>", start)]


def test_the_timeline_marks_the_facts_behind_buck_passing() -> None:
    received = factories.received()
    assigned = factories.assigned(received)
    redispatched, _, returned = factories.dispatch_facts(assigned)[:3]
    facts = factories.audit_facts([received, assigned, redispatched, returned])
    page = _timeline_html(_history(facts))
    assert "先后经手部门：water → power" in page
    assert "推诿信号" in _entry(page, returned.id)
    assert "推诿信号" not in _entry(page, received.id)


@pytest.mark.parametrize("code", ["zh", "en"])
def test_the_timeline_names_the_hot_spot_an_appeal_belongs_to(code: Lang) -> None:
    received = factories.received()
    others = (uuid4(), uuid4())
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    spot = hotspots.HotSpot(
        category="urban.littering",
        district="chaoyang",
        cell=None,
        window_start=now - timedelta(hours=6),
        window_end=now,
        count=3,
        baseline_count=0,
        expected=0.1,
        p_value=0.0002,
        appeals=(received.subject, *others),
        facts=(received.id, uuid4(), uuid4()),
    )
    elsewhere = dataclasses.replace(spot, appeals=others)  # a surge this appeal is not in
    lines = timeline.hot_spot_lines(CATALOGUES[code], [spot, elsewhere], received.subject, hours=6)
    assert [line.others for line in lines] == [others]
    page = _timeline_html(_history(factories.audit_facts([received])), code, lines)
    listed = page[page.index('id="hot-spots"') : page.index("</ul>", page.index('id="hot-spots"'))]
    assert "urban.littering" in listed
    assert "chaoyang" in listed
    assert all(f"/ui/appeals/{other}" in listed for other in others)
    quiet = _timeline_html(_history(factories.audit_facts([received])), code)
    assert CATALOGUES[code].messages.not_flagged in quiet


def test_nothing_from_a_fact_is_rendered_as_markup() -> None:
    received = factories.received().model_copy(update={"content": HOSTILE})
    page = _timeline_html(_history(factories.audit_facts([received])))
    assert "<script" not in page
    assert "<img" not in page
    assert "停水&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    assert "13800138000" not in page  # sealed (appeal.received v2): the page names no caller


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "zh"),
        ("", "zh"),
        ("fr-FR,fr;q=0.9", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en;q=0.5,zh-TW;q=0.8", "zh"),
        ("zh;q=0,en;q=0.1", "en"),
        ("en;q=bad,zh;q=0.2", "zh"),
    ],
)
def test_the_language_follows_accept_language_and_falls_back_to_chinese(
    header: str | None, lang: str
) -> None:
    assert from_accept_language(header) == lang


async def test_pages_are_chinese_by_default_and_english_on_request() -> None:
    app = apps.build("audit")
    app.state.runtime = types.SimpleNamespace(settings=types.SimpleNamespace(environment="test"))
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as client:
        chinese = await client.get("/ui/login", params={"next": "/ui/ranking"})
        assert '<html lang="zh-CN">' in chinese.text
        assert "登录" in chinese.text
        assert 'href="/ui/login?next=%2Fui%2Franking&amp;lang=en">English</a>' in chinese.text
        assert "script-src" not in chinese.headers["content-security-policy"]
        assert "default-src 'none'" in chinese.headers["content-security-policy"]

        asked = await client.get("/ui/login", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert '<html lang="en">' in asked.text
        assert "Sign in" in asked.text

        chosen = await client.get(
            "/ui/login", params={"lang": "en"}, headers={"Accept-Language": "zh-CN"}
        )
        assert '<html lang="en">' in chosen.text
        assert 'action="/ui/login?lang=en"' in chosen.text  # the choice carries on

        refused = await client.post("/ui/login", data={"token": "x", "next": "/ui/ranking"})
        assert refused.status_code == 401
        assert '<p class="bad" id="error">令牌无效或已过期</p>' in refused.text
        refused = await client.post("/ui/login?lang=en", data={"token": "x"})
        assert '<p class="bad" id="error">invalid or expired token</p>' in refused.text


def _ranking_html(code: Lang, *, explicit: bool, department: str | None) -> str:
    facts = domain.timeline(factories.audit_facts(factories.full_history()))
    now, rule = datetime(2026, 11, 1, tzinfo=UTC), kpis.Rule()
    table: kpis.Table = {}
    kpis.accumulate(table, facts, rule=rule, now=now)
    month = "2026-10"
    lang = Language(code=code, explicit=explicit, switch_to="/ui/ranking")
    behind = table[("water", month)].evidence() if department else None
    subject = str(facts[0].subject)
    page = render.page(
        "ranking.html",
        lang,
        title="t",
        caller=AUDITOR,
        month=month,
        now=now,
        rule=ranking.rule_text(lang.catalogue, rule),
        ranked=standings.ranking(table, month),
        gamed={},
        columns=ranking.COLUMNS,
        gaming_columns=ranking.GAMING_COLUMNS,
        last_share=gaming.LAST_SHARE,
        shown=ranking.shown,
        drill=lambda name: lang.link("/ui/ranking", month=month, department=name),
        department=department,
        evidence=None
        if behind is None
        else ranking.evidence(
            lang.catalogue, behind, {i: subject for ids in behind.values() for i in ids}
        ),
    )
    return bytes(page.body).decode()


@pytest.mark.parametrize("code", ["zh", "en"])
def test_the_ranking_explains_each_figure_and_links_it_to_its_facts(code: Lang) -> None:
    page = _ranking_html(code, explicit=False, department="water")
    figures = CATALOGUES[code].figures
    for column in (*ranking.COLUMNS, *ranking.GAMING_COLUMNS):
        assert f'<a href="#explain-{column.key}">{figures[column.key].label}</a>' in page
        assert f'<dt id="explain-{column.key}">' in page
        assert str(markupsafe.escape(figures[column.key].explains)) in page
    for column in ranking.COLUMNS:  # each of water's cells opens the list behind it
        link = f"/ui/ranking?month=2026-10&amp;department=water#figure-{column.evidence}"
        assert f'<a href="{link}"' in page
        assert f'id="figure-{column.evidence}"' in page
    assert re.search(r'href="/ui/appeals/[0-9a-f-]{36}#fact-[0-9a-f-]{36}"', page)


def test_a_chosen_language_carries_on_in_every_link() -> None:
    page = _ranking_html("en", explicit=True, department="water")
    assert "department=water&amp;lang=en#figure-volume" in page
    assert re.search(r'href="/ui/appeals/[0-9a-f-]{36}\?lang=en#fact-', page)
    assert '<input type="hidden" name="lang" value="en">' in page
    assert "lang=en" not in _ranking_html("zh", explicit=False, department=None)


@pytest.mark.parametrize(
    ("environment", "base", "secure"),
    [
        ("production", "http://audit.test", True),  # TLS ended at the ingress
        ("production", "https://audit.test", True),
        ("development", "http://127.0.0.1:8084", False),  # `make run`, plain http
    ],
)
async def test_the_sign_in_cookie_is_secure_unless_plain_http_was_asked_for(
    environment: str, base: str, secure: bool
) -> None:
    app = apps.build("audit")
    settings = AuditSettings(database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused")
    token = auth.mint(settings, subject="auditor:t", scopes=["audit:read"])
    app.state.runtime = types.SimpleNamespace(
        settings=types.SimpleNamespace(environment=environment)
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=base) as client:
        signed_in = await client.post("/ui/login", data={"token": token, "next": "/ui/ranking"})
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert ("Secure" in cookie) is secure

"""HTML for the auditor's pages. Every value goes through `e()` on its way in; the pages
carry no script, and the Content-Security-Policy forbids any."""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import Any

from shared.runtime.auth import Principal

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3} code{font-size:12px;white-space:pre-wrap;word-break:break-all}
.bad{color:#a00;font-weight:bold} .good{color:#070;font-weight:bold}
nav form{display:inline} nav a{margin-right:1em}
"""


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _layout(title: str, body: str, caller: Principal | None = None) -> str:
    nav = ""
    if caller is not None:
        nav = (
            '<nav><a href="/ui/ranking">Ranking</a>'
            f"<span>signed in as {e(caller.subject)}</span> "
            '<form method="post" action="/ui/logout"><button>Sign out</button></form></nav>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head>"
        f"<body>{nav}<h1>{e(title)}</h1>{body}</body></html>"
    )


def _table(table_id: str, headers: Sequence[str], rows: Iterable[tuple[str, list[str]]]) -> str:
    """`rows` are (class, cells already escaped); a row's class may carry its anchor as
    "class#id"."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{e(cls.partition("#")[0])}"'
        + (f' id="{e(cls.partition("#")[2])}">' if "#" in cls else ">")
        + "".join(f"<td>{cell}</td>" for cell in cells)
        + "</tr>"
        for cls, cells in rows
    )
    if not body:
        body = f'<tr><td colspan="{len(headers) or 1}">none</td></tr>'
    return f'<table id="{e(table_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def login(next_path: str, error: str | None = None) -> str:
    problem = f'<p class="bad" id="error">{e(error)}</p>' if error else ""
    form = (
        f'{problem}<form method="post" action="/ui/login">'
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        "<label>Access token (JWT with audit:read)<br>"
        '<textarea name="token" id="token" rows="4" cols="80" required></textarea></label><br>'
        '<button type="submit" id="sign-in">Sign in</button></form>'
    )
    return _layout("Audit: sign in", form)


def not_found(caller: Principal, message: str) -> str:
    return _layout("Not found", f"<p>{e(message)}</p>", caller)


def _state(ok: bool, good: str, bad: str) -> str:
    return f'<span class="good">{e(good)}</span>' if ok else f'<span class="bad">{e(bad)}</span>'


def timeline(caller: Principal, history: dict[str, Any]) -> str:
    facts = _table(
        "timeline",
        ["#", "happened", "recorded", "type", "source", "actor", "data"],
        (
            (
                f"fact#fact-{f['event_id']}",
                [
                    e(f["position"]),
                    e(f["time"]),
                    e(f["recorded_at"]),
                    e(f["type"]),
                    f"{e(f['source'])} v{e(f['version'])}",
                    e(f["actor"]),
                    f"<code>{e(json.dumps(f['data'], ensure_ascii=False))}</code>",
                ],
            )
            for f in history["facts"]
        ),
    )
    chains = _table(
        "chains",
        ["source", "facts", "state"],
        (
            (
                "chain",
                [
                    e(c["source"]),
                    e(c["length"]),
                    _state(c["verified"], "verified", "; ".join(c["problems"]) or "broken"),
                ],
            )
            for c in history["chains"]
        ),
    )
    findings = _table(
        "findings",
        ["kind", "position", "detail"],
        (
            (
                "finding",
                [
                    e(f["kind"]),
                    e("{topic}[{partition}]@{offset}".format(**f["position"])),
                    e(f["detail"]),
                ],
            )
            for f in history["findings"]
        ),
    )
    bounced, gamed = history["buck_passing"], history["gaming"]
    signals = (
        f"<p>Departments in turn: {e(' → '.join(bounced['departments']) or '-')}; "
        f"returns {e(bounced['returns_requested'])} (overruled {e(bounced['returns_denied'])}); "
        f"buck-passing: {_state(not bounced['flagged'], 'no', 'FLAGGED')}; "
        f"gaming: {_state(not gamed['flagged'], 'no', 'FLAGGED')}</p>"
    )
    body = (
        f'<p id="verified">Integrity: '
        f"{_state(history['verified'], 'verified', 'NOT verified')}"
        f" · digest <code>{e(history['digest'])}</code></p>{signals}"
        f"<h2>Timeline</h2>{facts}<h2>Chains</h2>{chains}<h2>Findings</h2>{findings}"
    )
    return _layout(f"Appeal {history['appeal_id']}", body, caller)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _evidence(month: str, department: str, evidence: dict[str, list[tuple[str, str]]]) -> str:
    """Each figure's facts, each linked to its place in its appeal's timeline."""
    items = "".join(
        f'<li class="figure" id="figure-{e(name)}">{e(name)}: '
        + (
            ", ".join(
                f'<a href="/ui/appeals/{e(appeal)}#fact-{e(fact)}">{e(fact[:8])}</a>'
                for fact, appeal in facts
            )
            or "none"
        )
        + "</li>"
        for name, facts in evidence.items()
    )
    return f'<h2>Facts behind {e(department)} in {e(month)}</h2><ul id="evidence">{items}</ul>'


def ranking(
    caller: Principal,
    ranked: dict[str, Any],
    gamed: dict[str, dict[str, Any]],
    now: datetime,
    department: str | None = None,
    evidence: dict[str, list[tuple[str, str]]] | None = None,
) -> str:
    month = ranked["month"]
    picker = (
        '<form method="get" action="/ui/ranking"><label>Month '
        f'<input name="month" value="{e(month)}" pattern="\\d{{4}}-\\d{{2}}"></label> '
        "<button>Show</button></form>"
    )
    rows = _table(
        "ranking",
        [
            "rank",
            "department",
            "volume",
            "timely sign-for",
            "on-time completion",
            "returns",
            "overruled",
            "redo",
            "satisfaction",
            "mean working days",
        ],
        (
            (
                "department",
                [
                    e(n),
                    f'<a href="/ui/ranking?month={e(month)}&amp;department={e(r["department"])}">'
                    f"{e(r['department'])}</a>",
                    e(r["volume"]),
                    e(_rate(r["timely_sign_for_rate"])),
                    e(_rate(r["on_time_completion_rate"])),
                    e(_rate(r["return_rate"])),
                    e(r["returns_overruled"]),
                    e(_rate(r["redo_rate"])),
                    e(_rate(r["satisfaction_rate"])),
                    e("-" if r["mean_handling_workdays"] is None else r["mean_handling_workdays"]),
                ],
            )
            for n, r in enumerate(ranked["rows"], start=1)
        ),
    )
    gaming = _table(
        "gaming",
        ["department", "reply then redo", "extensions at deadline", "callbacks until satisfied"],
        (
            (
                "gaming",
                [
                    e(d),
                    e(_rate(g["close_then_reopen_share"])),
                    e(_rate(g["extensions_at_deadline_share"])),
                    e(_rate(g["callbacks_until_satisfied_share"])),
                ],
            )
            for d, g in gamed.items()
        ),
    )

    def listing(list_id: str, names: list[str]) -> str:
        return f'<ol id="{list_id}">' + "".join(f"<li>{e(n)}</li>" for n in names) + "</ol>"

    body = (
        f"{picker}<p>Computed from the facts at {e(now.isoformat(timespec='seconds'))} "
        "under the standard rule (basically satisfied counts as satisfied).</p>"
        f"{rows}<h2>Red list (best)</h2>{listing('red-list', ranked['red_list'])}"
        f"<h2>Black list (worst)</h2>{listing('black-list', ranked['black_list'])}"
        f"<h2>Gaming signals</h2>{gaming}"
    )
    if department is not None and evidence is not None:
        body += _evidence(month, department, evidence)
    return _layout(f"Department ranking {month}", body, caller)

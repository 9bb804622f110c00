"""An appeal's history as its page shows it: each fact a sentence in Beijing time, with its
proof status and the signals it is evidence for, the recorded data kept beside it."""

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from audit_service import views
from audit_service.domain import gaming, hotspots, signals
from audit_service.pages import sentences
from audit_service.pages.catalogue import Catalogue


@dataclass(frozen=True, slots=True)
class Proof:
    ok: bool
    says: str


@dataclass(frozen=True, slots=True)
class Entry:
    fact: views.RecordedFact
    anchor: str  # the fact's id in the page: "fact-<event id>"
    when: str  # Beijing time
    recorded: str
    sentence: str
    proof: Proof
    badges: tuple[str, ...]  # the signals this fact is evidence for
    raw: str  # the data as recorded (masked as the caller must see it), pretty JSON


HOT_SPOT_RULE = hotspots.Rule()


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds the signals use, so the page says what raised a flag."""

    returns: int = signals.RETURNS_FLAGGED
    departments: int = signals.DEPARTMENTS_FLAGGED
    last_share: float = gaming.LAST_SHARE
    hot_spot: hotspots.Rule = HOT_SPOT_RULE


@dataclass(frozen=True, slots=True)
class HotSpotLine:
    says: str
    others: tuple[UUID, ...]  # the other appeals of the same surge, for their timelines


def hot_spot_lines(
    catalogue: Catalogue, spots: list[hotspots.HotSpot], appeal_id: UUID, *, hours: int
) -> list[HotSpotLine]:
    """The surges this appeal belongs to, as sentences, each with the appeals beside it."""
    said, lines = catalogue.messages, []
    for spot in spots:
        if appeal_id not in spot.appeals:
            continue
        district = spot.district or "?"
        place = (
            said.whole_district.format(district=district)
            if spot.cell is None
            else said.district_cell.format(district=district, cell=spot.cell)
        )
        says = said.hot_spot_line.format(
            category=spot.category,
            place=place,
            count=spot.count,
            hours=hours,
            expected=f"{spot.expected:.1f}",
        )
        lines.append(HotSpotLine(says, tuple(a for a in spot.appeals if a != appeal_id)))
    return lines


def anchor(event_id: object) -> str:
    return f"fact-{event_id}"


def proof(catalogue: Catalogue, fact: views.RecordedFact, history: views.History) -> Proof:
    """A finding about the fact, else its service's chain: verified or broken."""
    said = catalogue.messages
    for finding in history.findings:
        if finding.event_id == fact.event_id:
            kind = catalogue.findings.get(finding.kind, finding.kind)
            return Proof(False, said.proof_finding.format(kind=kind))
    chain = next((c for c in history.chains if c.source == fact.source), None)
    if chain is None or not chain.verified:
        return Proof(False, said.proof_broken.format(source=fact.source))
    return Proof(True, said.proof_verified.format(source=fact.source, version=fact.version))


def entries(catalogue: Catalogue, history: views.History) -> list[Entry]:
    said = catalogue.messages
    bounced, gamed = set(history.buck_passing.facts), set(history.gaming.facts)
    handle_due: datetime | None = None  # the handling deadline in force, fact by fact
    shown = []
    for fact in history.facts:
        badges = (
            *((said.buck_passing_badge,) if str(fact.event_id) in bounced else ()),
            *((said.gaming_badge,) if str(fact.event_id) in gamed else ()),
        )
        shown.append(
            Entry(
                fact=fact,
                anchor=anchor(fact.event_id),
                when=sentences.local_time(fact.time),
                recorded=sentences.local_time(fact.recorded_at),
                sentence=sentences.tell(
                    catalogue,
                    fact.type,
                    fact.actor,
                    fact.data,
                    schema_version=fact.schema_version,
                    current_handle_due=handle_due,
                ),
                proof=proof(catalogue, fact, history),
                badges=badges,
                raw=json.dumps(fact.data, ensure_ascii=False, indent=2, sort_keys=True),
            )
        )
        deadlines = fact.data.get("deadlines")
        if isinstance(deadlines, dict) and "handle_due" in deadlines:
            handle_due = datetime.fromisoformat(deadlines["handle_due"])
    return shown


def percent(share: float | None) -> str:
    """0.1 → "10%", 0.3333 → "33.3%"; None (nothing to divide by) → "-"."""
    if share is None:
        return "-"
    return f"{share * 100:.1f}".removesuffix(".0") + "%"

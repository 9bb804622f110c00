"""The shape of a language's catalogue (see the package's docstring)."""

from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh", "en"]
Sentence = tuple[str, ...]  # the first part always shows; a later one only with all its fields


@dataclass(frozen=True, slots=True, kw_only=True)
class Messages:
    html_lang: str
    switch_label: str  # names the other language, in that language
    nav_ranking: str
    signed_in_as: str
    sign_out: str
    times_note: str
    list_separator: str
    colon: str  # after a label
    count: str  # {n}, after a label
    unknown_fact: str  # {actor}, {type}
    # sign-in
    sign_in_title: str
    token_label: str
    sign_in: str
    invalid_token: str
    missing_scope: str  # {scope}
    not_found_title: str
    no_facts: str  # {appeal_id}
    # timeline
    appeal_title: str  # {appeal_id}
    integrity: str
    verified: str
    not_verified: str
    digest: str
    timeline: str
    raw_data: str
    recorded_at: str
    fact_id: str
    recorded_by: str
    hash: str
    prev_hash: str
    caused_by: str
    facts_behind: str
    proof_verified: str  # {source}, {version}
    proof_broken: str  # {source}
    proof_finding: str  # {kind}
    buck_passing_badge: str
    gaming_badge: str
    signals: str
    buck_passing: str
    buck_passing_rule: str  # {returns}, {departments}
    departments_in_turn: str
    returns_line: str  # {requested}, {approved}, {denied}, {redispatches}
    ping_pong: str
    ownerless: str  # {hours}
    flagged: str
    not_flagged: str
    gaming: str
    gaming_rule: str  # {share}
    hot_spot: str
    hot_spot_rule: str  # {hours}, {days}, {min_count}
    hot_spot_line: str  # {category}, {place}, {count}, {hours}, {expected}
    whole_district: str  # {district}
    district_cell: str  # {district}, {cell}
    appeals_together: str
    close_then_reopen: str
    extensions_at_deadline: str
    callbacks_until_satisfied: str
    near_deadline: str  # {department}, {share}
    reopened_by: str
    repeated_callback: str  # {round}
    dissatisfied_fact: str
    satisfied_fact: str
    none: str
    chains: str
    source: str
    facts_count: str
    state: str
    findings: str
    kind: str
    position: str
    detail: str
    # ranking
    ranking_title: str  # {month}
    month: str
    show: str
    computed_at: str  # {now}
    rank: str
    department: str
    red_list: str
    black_list: str
    gaming_shares: str
    figures_explained: str
    figure_rule: str  # {satisfied}, {excluded}
    satisfied_grades: str
    satisfied_only: str
    no_exclusions: str
    evidence_title: str  # {department}, {month}
    evidence_hint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    """One column of the ranking: its heading and what it measures, by which rule."""

    label: str
    explains: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    messages: Messages
    facts: dict[str, Sentence]
    words: dict[str, str]
    actors: dict[str, str]  # "service:dispatch" → a name; "department:{}" → a pattern
    figures: dict[str, Figure]  # ranking and gaming columns
    evidence: dict[str, str]  # each figure's list of facts, as kpis.Figures names them
    findings: dict[str, str]  # each finding kind

"""The pages in English, for auditors who ask for it (`?lang=en` or Accept-Language)."""

from audit_service.pages.catalogue.en_facts import ACTORS, FACTS, WORDS
from audit_service.pages.catalogue.model import Catalogue, Figure, Messages

CATALOGUE = Catalogue(
    messages=Messages(
        html_lang="en",
        switch_label="中文",
        nav_ranking="Department ranking",
        signed_in_as="Signed in as",
        sign_out="Sign out",
        times_note="All times are Beijing time (UTC+8).",
        list_separator=", ",
        colon=": ",
        count=" ({n})",
        unknown_fact="{actor}: {type}",
        sign_in_title="Audit: sign in",
        token_label="Access token (JWT with audit:read)",
        sign_in="Sign in",
        invalid_token="invalid or expired token",
        missing_scope="the token lacks {scope}",
        not_found_title="Not found",
        no_facts="No facts about appeal {appeal_id}.",
        appeal_title="Appeal {appeal_id}",
        integrity="Integrity",
        verified="verified",
        not_verified="NOT verified",
        digest="digest",
        timeline="What happened",
        raw_data="Raw data",
        recorded_at="recorded by audit",
        fact_id="fact id",
        recorded_by="recorded by",
        hash="hash",
        prev_hash="previous hash",
        caused_by="caused by",
        facts_behind="facts behind it",
        proof_verified="verified: link {version} of the {source} hash chain holds",
        proof_broken="the {source} hash chain is broken",
        proof_finding="finding: {kind}",
        buck_passing_badge="buck-passing signal",
        gaming_badge="gaming signal",
        signals="Signals",
        buck_passing="Buck-passing",
        buck_passing_rule=(
            "Flagged at {returns} return requests, when the work order comes back to a "
            "department that held it before, or once {departments} departments have held it."
        ),
        departments_in_turn="Departments in turn",
        returns_line=(
            "{requested} return requests, {approved} approved, {denied} overruled; "
            "{redispatches} redispatches"
        ),
        ping_pong="the work order came back to a department that had held it",
        ownerless="time left ownerless awaiting a decision on a return: {hours} h",
        flagged="FLAGGED",
        not_flagged="not flagged",
        gaming="Gaming the numbers",
        gaming_rule='"Near the deadline" means in the last {share} of the handling window.',
        hot_spot="Hot spot (acting before the next call)",
        hot_spot_rule=(
            "Flagged when at least {min_count} appeals of one category arrive in one place "
            "within {hours} h, far above that place's usual rate over the {days} days before."
        ),
        hot_spot_line='"{category}" in {place}: {count} in {hours} h (usually about {expected})',
        whole_district="district {district}",
        district_cell="district {district}, within about 500 m ({cell})",
        appeals_together="Appeals of the same hot spot",
        close_then_reopen="replied near the deadline, then ordered to redo",
        extensions_at_deadline="extension requested near the deadline",
        callbacks_until_satisfied='called back in one round until "satisfied"',
        near_deadline="{department}: {share} of the handling window used",
        reopened_by="redo",
        repeated_callback="round {round}",
        dissatisfied_fact="dissatisfied callback",
        satisfied_fact='later "satisfied" callback',
        none="none",
        chains="Hash chains",
        source="source",
        facts_count="facts",
        state="state",
        findings="Findings",
        kind="kind",
        position="position",
        detail="detail",
        ranking_title="Department ranking {month}",
        month="Month",
        show="Show",
        computed_at="Computed from every fact recorded by {now}.",
        rank="rank",
        department="department",
        red_list="Red list (best)",
        black_list="Black list (worst)",
        gaming_shares="Gaming signals",
        figures_explained="What each figure measures",
        figure_rule=(
            "Rule: {satisfied}; {excluded}. Departments rank by on-time completion, then "
            "satisfaction, then timely sign-for, then volume, then id. Only departments with "
            "enough work orders and something due are listed, and none on both lists."
        ),
        satisfied_grades='"satisfied" and "basically satisfied" both count as satisfied',
        satisfied_only='only "satisfied" counts as satisfied',
        no_exclusions="no category left out",
        evidence_title="The facts behind {department}'s figures in {month}",
        evidence_hint="Each link opens the fact in its appeal's timeline.",
    ),
    facts=FACTS,
    words=WORDS,
    actors=ACTORS,
    figures={
        "volume": Figure(
            label="volume",
            explains="Work orders given to the department this month by assignment or "
            "redispatch (redos not counted).",
        ),
        "timely_sign_for_rate": Figure(
            label="timely sign-for",
            explains="Of the work orders signed for or past their sign-for deadline, the share "
            "signed for by the deadline.",
        ),
        "on_time_completion_rate": Figure(
            label="on-time completion",
            explains="Of the work orders replied to or past their handling deadline (with "
            "approved extensions), the share replied to by the deadline.",
        ),
        "return_rate": Figure(
            label="returns", explains="Return requests as a share of the volume."
        ),
        "returns_overruled": Figure(
            label="overruled",
            explains="Return requests the hotline overruled: the evidence of improper returns.",
        ),
        "redo_rate": Figure(
            label="redo",
            explains="Redos ordered after a dissatisfied rating, as a share of the replies.",
        ),
        "satisfaction_rate": Figure(
            label="satisfaction",
            explains="Of the ratings after the department's reply, the share that count as "
            "satisfied (see the rule above).",
        ),
        "mean_handling_workdays": Figure(
            label="mean working days",
            explains="Mean working days (public holidays and make-up days observed) from the "
            "assignment to the first reply.",
        ),
        "assist_on_time_rate": Figure(
            label="assists on time",
            explains="Of the asks to contribute as an assisting department that were answered "
            "or fell due, the share answered by their own deadline; apart from the lead's figures.",
        ),
        "close_then_reopen_share": Figure(
            label="reply then redo",
            explains="Of the department's replies, the share made near the deadline and then "
            "sent back for a redo.",
        ),
        "extensions_at_deadline_share": Figure(
            label="extensions at deadline",
            explains="Of the department's extension requests, the share made near the deadline.",
        ),
        "callbacks_until_satisfied_share": Figure(
            label="callbacks until satisfied",
            explains="Of the callback rounds that reached the caller, the share where a "
            '"dissatisfied" answer was followed in the same round by a "satisfied" one.',
        ),
    },
    evidence={
        "volume": "assignments and redispatches",
        "signed_in_time": "signed for in time",
        "signed_late_or_never": "signed for late, or not by the deadline",
        "completed_on_time": "replied in time",
        "completed_late_or_overdue": "replied late, or not by the deadline",
        "returns": "return requests",
        "returns_overruled": "overruled returns",
        "redos": "redos ordered",
        "completed": "replies",
        "satisfied": "ratings counted as satisfied",
        "rated": "ratings",
        "replies": "replies",
        "replies_near_deadline_reopened": "replies near the deadline, then redone",
        "extensions": "extension requests",
        "extensions_at_deadline": "extension requests near the deadline",
        "rounds_called_back": "callback rounds that reached the caller",
        "rounds_called_until_satisfied": "rounds called back until satisfied",
        "assists_asked": "asks to assist",
        "assists_on_time": "contributions as assisting department in time",
        "assists_late_or_missing": "contributions late, or none by the deadline",
        "rated_by_merged": "ratings by merged appeals' callers",
    },
    findings={
        "undecodable": "undecodable",
        "wrong_source": "a type its source does not own",
        "unknown_producer": "unknown producer",
        "wrong_topic": "on the wrong topic",
        "broken_link": "broken hash link",
        "gap": "facts missing before it",
        "reordered": "arrived out of order",
        "version_conflict": "version conflict",
        "reused_id": "fact id reused",
    },
)

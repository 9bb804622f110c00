"""How the pages tell each fact in English: the sentence parts per fact type, the words for
the contracts' enum values, and the names of who recorded a fact."""

from audit_service.pages.catalogue.model import Sentence

DEADLINES = "; sign for by {deadlines_sign_for_due}, handle by {deadlines_handle_due}"

FACTS: dict[str, Sentence] = {
    "appeal.received": (
        '{actor} took a {urgency} {appeal_type} by {channel} (category {category}): "{content}"',
        "; district {location_district}",
    ),
    "appeal.personal_data_erased": (
        "{actor} erased the caller's personal data (basis: {basis}); key {key_id} destroyed",
        "; request {reference}",
    ),
    "appeal.classified": (
        "{actor} reclassified the appeal from {previous_category} to {category} "
        "({appeal_type}, {urgency})",
        ", by catalogue version {catalogue_version}",
        "; reason: {reason}",
    ),
    "appeal.forwarded": (
        "{actor} forwarded the appeal to dispatch (category {category}, {appeal_type}, {urgency})",
        ", district {district}",
        "; the clocks run from receipt at {received_at}",
    ),
    "appeal.answered": (
        '{actor} answered on the spot, with no work order: "{answer}"',
        " (knowledge base {article_id}, version {article_version})",
    ),
    "appeal.transferred": (
        "{actor} transferred the appeal to {line} by {mode}, their reference {external_reference}",
    ),
    "appeal.rejected": (
        "{actor} declined the appeal: {reason}; the caller was pointed to {legal_route} "
        "({explanation})",
    ),
    "appeal.merged": ("{actor} merged the appeal into appeal {parent}: {reason}",),
    "appeal.unmerged": ("{actor} undid the merge into appeal {parent}: {reason}",),
    "appeal.assigned": (
        "{actor} assigned the work order to {department} by rule {routing_rule} "
        "(version {routing_version})",
        ", assisted by {assisting}",
        DEADLINES,
    ),
    "appeal.redispatched": (
        "{actor} moved the work order from {previous_department} to {department}: {reason}",
        ", assisted by {assisting}",
        DEADLINES,
    ),
    "appeal.signed_for": (
        "{department} signed for the work order (signed by {person})",
        "; handle by {current_handle_due}",
    ),
    "appeal.return_requested": (
        "{department} asked to return the work order (reason {reason_code}, under {legal_basis})",
        ": {explanation}",
    ),
    "appeal.return_approved": ("{actor} approved {department}'s return: {reasoning}",),
    "appeal.return_denied": (
        "{actor} overruled {department}'s return; it keeps the work order and its "
        "clocks: {reasoning}",
    ),
    "appeal.extension_requested": (
        "{department} asked for {working_days} more working days: {reason} (under {legal_basis})",
    ),
    "appeal.extension_approved": (
        "{actor} gave {department} {working_days} more working days; handle by "
        "{deadlines_handle_due} instead of {previous_handle_due}",
    ),
    "appeal.extension_denied": ("{actor} refused {department}'s extension: {reasoning}",),
    "appeal.assist_contributed": ("{department} contributed as assisting department: {content}",),
    "appeal.assist_requested": (
        "{actor} asked {department} to assist {lead}, due {due}",
        " (SLA policy version {policy_version}, calendar {calendar})",
    ),
    "appeal.assist_overdue": ("{department} contributed nothing as assisting department by {due}",),
    "appeal.assist_warned": (
        "{department}'s deadline as assisting department is nearly up ({due})",
    ),
    "appeal.assist_deadline_recomputed": (
        "{actor} recomputed {department}'s deadline as assisting department: {due} instead of "
        "{previous_due}",
        " (SLA policy version {policy_version}, calendar {calendar})",
    ),
    "appeal.supervised": ("{actor} sent {department} a {level}: {note}",),
    "appeal.deadline_warned": ("{department}'s {clock} is nearly up (due {due})",),
    "appeal.deadline_missed": ("{department}'s {clock} ran out (due {due})",),
    "appeal.redo_ordered": (
        "{actor} ordered {department} to redo the work (round {round}): {reason}",
        DEADLINES,
    ),
    "appeal.closed": ("{actor} closed the work order ({basis})", ": {note}"),
    "appeal.deadlines_recomputed": (
        "{actor} recomputed {department}'s provisional deadlines once {years} was published",
        DEADLINES,
    ),
    "appeal.escalated_to_centre": (
        "{actor} escalated the appeal to the hotline centre after {redo_rounds} redo rounds "
        "({department}, round {round}): {reason}",
    ),
    "calendar.published": (
        "{actor} published working-day calendar version {number} ({calendar}): "
        "the {year} holiday arrangement",
        "; holidays {holidays}",
        "; make-up working days {workdays}",
        "; {note}",
    ),
    "appeal.handled": (
        "{department} replied for round {round} ({result}): {reply}",
        "; responsible: {person}",
        "; attachments {attachments}",
    ),
    "appeal.rated": (
        "The caller rated round {round} {via}: {satisfaction}, {solved}",
        ", {department_at_fault}",
        '; comment: "{comment}"',
        "; a merged appeal: it rates {handled_by}'s handling of {merged_into}",
    ),
    "appeal.not_rated": (
        "Round {round} went unrated ({reason}); the rating window closed at {window_closed_at}",
    ),
    "appeal.reply_reviewed": (
        "{actor} reviewed {department}'s reply for round {round}: {decision}",
        "; reason: {reason}",
        "; call back by {callback_due}",
    ),
    "appeal.callback_made": (
        "{actor} made callback {attempt} of round {round}: {reached}",
        ", {satisfaction}",
        ", {solved}",
        ", {department_at_fault}",
        '; comment: "{comment}"',
        " ({counted})",
        "; next attempt by {next_attempt_due}",
    ),
    "appeal.citizen_notified": ('{actor} notified the caller by {channel} ({kind}): "{message}"',),
    "appeal.citizen_notice_failed": (
        "{actor} could not notify the caller by {channel} ({kind}) after {attempts} "
        'attempts ({error}): "{message}"',
    ),
    "appeal.leadership_notified": (
        '{actor} notified {department}\'s leadership of the escalation: "{message}"',
    ),
    "appeal.leadership_notice_failed": (
        "{actor} could not notify {department}'s leadership of the escalation after "
        '{attempts} attempts ({error}): "{message}"',
    ),
    "appeal.withdrawal_requested": (
        "{actor} settled the forwarded appeal ({outcome}) and asked dispatch to withdraw "
        "its work order: {reason}",
    ),
    "appeal.outcome_abandoned": (
        "{actor} dropped the front office's outcome ({outcome}): the work order was not "
        "withdrawn: {reason}",
    ),
    "appeal.withdrawn": (
        "{actor} withdrew the work order from {department} before sign-for ({outcome}): {reason}",
    ),
    "appeal.withdrawal_refused": (
        "{actor} refused to withdraw the work order from {department}: {reason}",
    ),
}

WORDS: dict[str, str] = {
    "channel.phone": "phone",
    "channel.web": "the web site",
    "channel.app": "the app",
    "channel.wechat": "WeChat",
    "channel.partner": "a partner channel",
    "channel.open311": "Open311",
    "appeal_type.consultation": "consultation",
    "appeal_type.help": "request for help",
    "appeal_type.complaint": "complaint",
    "appeal_type.report": "report",
    "appeal_type.suggestion": "suggestion",
    "appeal_type.praise": "praise",
    "urgency.normal": "normal",
    "urgency.urgent": "urgent",
    "contact_preference.phone": "phone",
    "contact_preference.sms": "SMS",
    "contact_preference.wechat": "WeChat",
    "contact_preference.email": "email",
    "contact_preference.none": "no contact",
    "anonymous.true": "anonymous",
    "anonymous.false": "",
    "public_consent.true": "may be published",
    "public_consent.false": "not to be published",
    "line.110": "110 (police)",
    "line.119": "119 (fire)",
    "line.120": "120 (ambulance)",
    "line.122": "122 (traffic accidents)",
    "mode.one_click": "one-click transfer",
    "mode.three_party_call": "a three-party call",
    "legal_route.litigation": "litigation",
    "legal_route.arbitration": "arbitration",
    "legal_route.discipline_inspection": "discipline inspection",
    "legal_route.administrative_reconsideration": "administrative reconsideration",
    "legal_route.information_disclosure": "government information disclosure",
    "legal_route.petition": "petition (xinfang)",
    "legal_route.police": "the police",
    "legal_route.none": "no route",
    "alg.A256GCM": "AES-256-GCM",
    "basis.citizen_request": "the citizen's request",
    "basis.consent_withdrawn": "consent withdrawn",
    "basis.purpose_fulfilled": "purpose fulfilled",
    "basis.retention_expired": "retention period expired",
    "basis.unlawful_processing": "unlawful processing",
    "level.reminder": "reminder",
    "level.supervision": "supervision notice",
    "level.escalation": "escalation",
    "clock.sign_for": "sign-for time",
    "clock.handling": "handling time",
    "basis.rated_satisfied": "the caller was satisfied",
    "basis.not_rated": "not rated",
    "basis.rated_dissatisfied": "the caller was dissatisfied, though solved and not the "
    "department's fault",
    "department_at_fault.true": "the department was at fault",
    "department_at_fault.false": "the department was not at fault",
    "basis.operator": "closed by an operator",
    "result.solved": "solved",
    "result.explained": "explained",
    "result.unsolvable": "cannot be solved",
    "satisfaction.satisfied": "satisfied",
    "satisfaction.basically_satisfied": "basically satisfied",
    "satisfaction.dissatisfied": "dissatisfied",
    "attitude.good": "the department's attitude good",
    "attitude.acceptable": "the department's attitude acceptable",
    "attitude.poor": "the department's attitude poor",
    "solved.true": "solved",
    "solved.false": "not solved",
    "via.api": "through an operator",
    "via.callback": "in a callback",
    "via.link": "by the rating link",
    "reason.window_expired": "the window expired",
    "reason.unreachable": "no callback reached the caller",
    "decision.approved": "approved, a callback is due",
    "decision.sent_back": "sent back to reply again",
    "reached.true": "reached the caller",
    "reached.false": "did not reach the caller",
    "counted.true": "counts as the round's rating",
    "counted.false": "",
    "kind.extension_approved": "extension approved",
    "escalation.appeal.supervised": "escalated by the centre",
    "escalation.appeal.escalated_to_centre": "escalated past the redo rounds",
    "kind.reply_approved": "reply approved",
    "outcome.answered": "answered",
    "outcome.transferred": "transferred",
    "outcome.rejected": "rejected",
    "outcome.merged": "merged",
}

ACTORS: dict[str, str] = {
    "service:intake": "intake",
    "service:dispatch": "dispatch",
    "service:feedback": "feedback",
    "service:audit": "audit",
    "department:": "department {}",
    "partner:": "partner {}",
    "operator:": "operator {}",
}

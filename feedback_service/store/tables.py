"""feedback's tables: the read models kept from dispatch's, intake's and feedback's own facts,
and the notification tables (subscriptions, and deliveries: the outbox of webhooks)."""

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.runtime.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

holders = Table(
    "holders",
    metadata,
    Column("appeal_id", Uuid, primary_key=True),
    Column("department", String(64), nullable=False),
    Column("assigned_event_id", Uuid, nullable=False),  # the fact that handed it over
    Column("correlation_id", Uuid, nullable=False),
    Column("round", Integer, nullable=False, server_default="1"),
    Column("signed_for", Boolean, nullable=False, server_default="false"),
    # The open rating window, if any: the round it is for and when it closes (timer index).
    Column("rating_round", Integer),
    Column("rating_closes_at", DateTime(timezone=True), index=True),
)

# Repeat appeals merged into a parent (并单): each follows its parent's reply and keeps its
# own callback and rating.
merged_children = Table(
    "merged_children",
    metadata,
    Column("child_id", Uuid, primary_key=True),
    Column("parent_id", Uuid, nullable=False, index=True),
)

# Rounds whose approved reply awaits a callback that reaches the citizen: the operators' queue.
callbacks_due = Table(
    "callbacks_due",
    metadata,
    Column("appeal_id", Uuid, primary_key=True),
    Column("round", Integer, nullable=False),
    Column("department", String(64), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
)

# Rating links issued: the nonce makes each single-use; `used_at` is set by the one rating.
rating_links = Table(
    "rating_links",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("appeal_id", Uuid, nullable=False, index=True),
    Column("round", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("rated_event_id", Uuid),
)


appeals = Table(
    "appeals",
    metadata,
    Column("appeal_id", Uuid, primary_key=True),
    Column("filed_by", String(200), nullable=False, index=True),  # appeal.received's actor
    Column("channel", String(30), nullable=False),
    # The citizen's personal data as intake sealed it (shared.personal_data.Sealed), for
    # the citizen's channel to reach them: opened only to send, with intake's key.
    Column("personal_data", JSONB),
    # The citizen's data key (intake keeps it): a rating's or callback's comment is sealed
    # under it. Every appeal has one since appeal.received v3; kept after erasure (an id).
    Column("key_id", Uuid),
    Column("extension_reason", Text),  # the pending extension's reason, for the notice
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("filer", String(200), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),  # the webhook-id, the same on every retry
    Column("subscription_id", Uuid),  # None: a notice to the citizen's channel
    Column("channel", String(30)),  # the citizen's channel, for notices
    Column("appeal_id", Uuid, nullable=False, index=True),
    Column("event_id", Uuid, nullable=False),  # the fact that triggered it
    Column("kind", String(50), nullable=False),
    Column("url", String(2000), nullable=False),
    # The bytes signed and sent, but for a citizen notice's phone: that is added, opened
    # from `personal_data`, only when sending (and never once the citizen is erased).
    Column("body", Text, nullable=False),
    Column("personal_data", JSONB),
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("subscription_id", "event_id", "kind", name="uq_deliveries_once"),
    Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
)

# dispatch's working-day calendar versions (from `calendar.published`): callbacks fall due on
# the same calendar as the deadlines.
calendar_versions = Table(
    "calendar_versions",
    metadata,
    Column("number", Integer, primary_key=True),
    Column("year", Integer, nullable=False),
    Column("holidays", ARRAY(Date), nullable=False),
    Column("workdays", ARRAY(Date), nullable=False),
)

# Each department's leadership channel, published by the hotline centre: where an escalation
# of the department's appeal is notified (feedback_service/leadership.py).
leadership_channels = Table(
    "leadership_channels",
    metadata,
    Column("department", String(64), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("published_by", String(200), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    # The channel's own `whsec_` signing secret (NULL: published before channels had one).
    Column("secret", String(200)),
)

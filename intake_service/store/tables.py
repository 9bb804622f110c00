"""intake's tables: one row per appeal (its projected status and what the front office
needs to find it), the versioned catalogue, and the knowledge base."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.runtime.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# An appeal a new one may repeat; the repeat indexes hold these rows alone, and a search
# must say the same to use them.
OPEN_APPEAL = "merged_into IS NULL AND status <> 'closed'"

appeals = Table(
    "appeals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("appeal_type", String(20), nullable=False),  # as classified now
    Column("category", String(64), nullable=False, index=True),  # as classified now
    Column("urgency", String(10)),  # as classified now (NULL: as received)
    Column("district", String(64), index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("status_round", Integer, nullable=False, server_default="1"),
    Column("status_at", DateTime(timezone=True), nullable=False),
    Column("received", JSONB, nullable=False),  # the appeal.received fact's fields
    # What a channel carried beyond the fact (Open311: partner, attributes, media_url).
    Column("extras", JSONB),
    # The citizen's data key (None: nothing personal given, or a fact from before sealing)
    # and blind indexes of the phone and address to find repeats by: never the plaintext.
    Column("key_id", Uuid, index=True),
    Column("phone_index", String(64)),
    Column("address_index", String(64)),
    Column("personal_data_erased_at", DateTime(timezone=True)),
    Column("department", String(64), index=True),  # the lead department dispatch named
    Column("merged_into", Uuid),
    Column("repeat_candidates", JSONB),  # open appeals this one may repeat, at arrival
    Column("classification", JSONB),  # what the rules matched, and any override
    Column("stages", JSONB),  # status → when the appeal last reached it
    Column("outcome", JSONB),  # the front office's closing outcome, if any
    # Repeat candidates are open and unmerged (store/filed.py): indexes of those alone.
    Index(
        "ix_appeals_open_by_phone",
        "phone_index",
        "received_at",
        "id",
        postgresql_where=text(OPEN_APPEAL),
    ),
    Index(
        "ix_appeals_open_by_address",
        "address_index",
        "category",
        "received_at",
        "id",
        postgresql_where=text(OPEN_APPEAL),
    ),
    Index(
        "ix_appeals_merged_into", "merged_into", postgresql_where=text("merged_into IS NOT NULL")
    ),
)

# Citizens' data keys, wrapped by the KEK: intake is the only holder. Erasure destroys the
# wrapped key and the blind index; the row stays, as the record that the key existed.
citizen_keys = Table(
    "citizen_keys",
    metadata,
    Column("key_id", Uuid, primary_key=True),
    Column("wrapped_key", LargeBinary),  # None once erased
    Column("phone_index", String(64), unique=True),  # one key per phone while it lives
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True)),
)

# Erasure requests: whose, on what basis, and what they covered (ids only).
erasures = Table(
    "erasures",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("basis", String(40), nullable=False),
    Column("reference", String(200)),
    Column("key_ids", JSONB, nullable=False),
    Column("appeal_ids", JSONB, nullable=False),
    Column("event_ids", JSONB, nullable=False),  # the erasure facts, done once published
)

# Who read an appeal with the citizen's data or text shown: one row per appeal per read,
# never what was shown (audit keeps the same for its own reads).
access_log = Table(
    "access_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("principal", String(200), nullable=False),
    Column("action", String(100), nullable=False),  # e.g. "appeal view", "appeal list"
    Column("appeal_id", Uuid, nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

catalogue_versions = Table(
    "catalogue_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

kb_articles = Table(  # the version in force of each article, with its search terms
    "kb_articles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("document", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("title_terms", ARRAY(Text), nullable=False),
    Column("terms", ARRAY(Text), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_kb_articles_terms", "terms", postgresql_using="gin"),
)

kb_article_versions = Table(  # every version ever published; never updated
    "kb_article_versions",
    metadata,
    Column("article_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("published_by", String(200), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)

open311_updates = Table(  # the Open311 update feed: one row per public fact
    "open311_updates",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),  # ties at the same time
    Column("update_id", Uuid, nullable=False, unique=True),  # the fact's id
    Column("appeal_id", Uuid, nullable=False, index=True),
    Column("fact_type", String(100), nullable=False),
    Column("status", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),  # the fact's time
    Column("department", String(64)),
    Column("due", DateTime(timezone=True)),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_open311_updates_updated_at_id", "updated_at", "id"),
)

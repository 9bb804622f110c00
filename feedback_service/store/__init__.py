"""All of feedback's SQL: `tables` (the schema the migrations follow), `read_models` (who
holds each work order, merged appeals, rating windows, the callback queue, rating links) and
`notifications` (filers, subscriptions and the webhook outbox)."""

from feedback_service.store.tables import metadata

__all__ = ["metadata"]

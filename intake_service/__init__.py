"""intake: the front office. Accepts appeals (appeal.received), forwards them to dispatch
(appeal.forwarded) or settles them at the front office, and keeps the catalogue and the
knowledge base."""

"""intake: the front office. Accepts appeals and emits appeal.received."""

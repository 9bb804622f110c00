"""audit: rebuilds, orders and verifies every appeal's history from the log alone."""

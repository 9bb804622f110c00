"""Crash points for the crash-safety tests: the process SIGKILLs itself where a real crash
would hurt most. Inert unless HOTLINE_CRASH_AT names the point (refused in production)."""

import os
import signal

CONSUMER_AFTER_DB_COMMIT = "consumer.after_db_commit"
RELAY_BEFORE_SEND = "relay.before_send"
RELAY_AFTER_SEND = "relay.after_send"
POINTS = frozenset({CONSUMER_AFTER_DB_COMMIT, RELAY_BEFORE_SEND, RELAY_AFTER_SEND})


class CrashPoints:
    def __init__(self, armed: str | None) -> None:
        if armed is not None and armed not in POINTS:
            raise ValueError(f"unknown crash point {armed!r}; known: {sorted(POINTS)}")
        self._armed = armed

    def reach(self, point: str) -> None:
        if point == self._armed:
            os.kill(os.getpid(), signal.SIGKILL)

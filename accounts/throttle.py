"""Lock out brute-force sign-in: too many failures for one username, or from one IP, within a
window refuse further attempts until the window has passed. Counts live in the shared cache."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_IP = 20


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is trying to sign in: the username typed and the client IP."""

    username: str
    ip: str

    def counters(self) -> list[tuple[str, int]]:
        name = hashlib.sha256(self.username.strip().lower().encode()).hexdigest()[:32]
        return [
            (f"login-fail:user:{name}", MAX_FAILURES_PER_USERNAME),
            (f"login-fail:ip:{self.ip}", MAX_FAILURES_PER_IP),
        ]


def is_locked(subject: Subject) -> bool:
    """True while either the username or the IP has used up its failures in the window."""
    counts = cache.get_many([key for key, _ in subject.counters()])
    return any(counts.get(key, 0) >= limit for key, limit in subject.counters())


def record_failure(subject: Subject) -> None:
    for key, _ in subject.counters():
        if not cache.add(key, 1, WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, WINDOW_SECONDS)


def record_success(subject: Subject) -> None:
    cache.delete(subject.counters()[0][0])

"""Rate limiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from klantroef_core.domain.rates import Rate


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one attempt.

    ``remaining``: how many more would be accepted right now;
    ``reset_after``: seconds until the window holds no accepted request;
    ``retry_after``: seconds until the next attempt can succeed (0 when allowed).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float


class RateLimiter(Protocol):
    """A sliding-log limiter: no window of ``rate.period`` seconds holds more than
    ``rate.limit`` accepted attempts for one key, and an attempt is refused only
    when the window ending now already holds ``rate.limit`` accepted ones.

    Atomic per key, and shared across instances when backed by a shared store.
    Refused attempts are not counted. Raises
    :class:`~klantroef_core.errors.Unavailable` when the store is unreachable;
    the caller decides whether to fail open or closed.
    """

    async def hit(self, key: str, rate: Rate, now: float) -> RateDecision:
        """Record an attempt at ``now`` (seconds since the epoch) if it is within the rate."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every attempt for ``key``."""
        ...

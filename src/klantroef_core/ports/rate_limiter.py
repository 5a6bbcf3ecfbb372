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

    Shared across instances when backed by a shared store; the caller decides
    whether to fail open or closed when it is not reachable.

    Promises (each checked by ``klantroef_adapters.testing.RateLimiterContract``):

    - Attempts within the limit are allowed and count ``remaining`` down, with
      ``retry_after`` 0 and ``reset_after`` one period after the newest.
    - An attempt over the limit is refused with ``retry_after`` the time until
      the oldest accepted attempt leaves the window.
    - An attempt is allowed again from the instant the oldest leaves the window
      ``(now - period, now]``; attempts at the same instant each count.
    - Refused attempts are not counted.
    - Keys are independent, however alike they look.
    - Time is the caller's ``now`` (seconds since the epoch, any float), never
      the store's clock.
    - Atomic per key: of many concurrent attempts, exactly ``rate.limit`` are allowed.
    - Over any sequence of attempts, no window overfills and an attempt is refused
      only when its window is full.
    - Attempts may land out of order: processes read their clocks before their
      hits reach the store, so one at ``10.0`` may land after one at ``10.0015``.
      No window overfills even then (up to a period late): a late attempt counts
      every accepted one later than ``now - period``, those after ``now`` too,
      and nothing an attempt landing that late could still count is forgotten.
    - When the store cannot be reached, ``hit`` raises
      :class:`~klantroef_core.errors.Unavailable`.
    """

    async def hit(self, key: str, rate: Rate, now: float) -> RateDecision:
        """Record an attempt at ``now`` (seconds since the epoch) if it is within the rate."""
        ...

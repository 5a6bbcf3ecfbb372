"""An exact sliding-log rate limiter kept in this process's memory."""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass, field

from klantroef_core.domain.rates import Rate
from klantroef_core.ports.rate_limiter import RateDecision


@dataclass(slots=True)
class _Log:
    """The accepted attempts of one key, ascending, and the period they were judged by."""

    period: float
    accepted: list[float] = field(default_factory=list)


class InMemoryRateLimiter:
    """A :class:`~klantroef_core.ports.rate_limiter.RateLimiter` for a single process.

    Keeps, per key, the times of the accepted attempts of the last two periods; an
    attempt is accepted iff fewer than ``limit`` of them are later than
    ``now - period`` (later than ``now`` included: an attempt may land after a later
    one, see the port). ``hit`` never awaits, so it is atomic within one event loop.
    Keys with no attempt in the last two periods are swept every ``sweep_every``
    hits, so memory follows the number of active clients, not of all clients ever seen.
    Keys are kept in the order they were last hit, so a sweep reads only the stale
    ones at the front (it scanned every key: 7% of a view's CPU with many clients).
    """

    def __init__(self, *, sweep_every: int = 1024) -> None:
        self._logs: dict[str, _Log] = {}
        self._sweep_every = sweep_every
        self._hits_since_sweep = 0

    async def hit(self, key: str, rate: Rate, now: float) -> RateDecision:
        self._maybe_sweep(now)
        log = self._logs.pop(key, None) or _Log(rate.period)
        self._logs[key] = log  # the latest hit goes last: the sweep reads the oldest first
        log.period = rate.period
        # Only what no attempt landing up to a period late could still count is dropped.
        del log.accepted[: bisect_right(log.accepted, now - 2 * rate.period)]
        first = bisect_right(log.accepted, now - rate.period)
        allowed = len(log.accepted) - first < rate.limit
        if allowed:
            insort(log.accepted, now)
        count, oldest, newest = len(log.accepted) - first, log.accepted[first], log.accepted[-1]
        return RateDecision(
            allowed=allowed,
            limit=rate.limit,
            remaining=max(rate.limit - count, 0),
            reset_after=max(newest + rate.period - now, 0.0),
            retry_after=0.0 if allowed else oldest + rate.period - now,
        )

    def _maybe_sweep(self, now: float) -> None:
        self._hits_since_sweep += 1
        if self._hits_since_sweep < self._sweep_every:
            return
        self._hits_since_sweep = 0
        stale = []
        for key, log in self._logs.items():  # least recently hit first
            if log.accepted and log.accepted[-1] > now - 2 * log.period:
                break  # hit since: so were all after it (one period longer at most)
            stale.append(key)
        for key in stale:
            del self._logs[key]

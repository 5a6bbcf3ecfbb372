"""Properties of the in-memory sliding-log limiter, checked against a naive model."""

from __future__ import annotations

import asyncio
from itertools import accumulate

from hypothesis import given, settings
from hypothesis import strategies as st

from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_core.domain.rates import Rate
from klantroef_core.ports.rate_limiter import RateDecision

Attempt = tuple[str, float]

rates = st.builds(
    Rate,
    limit=st.integers(min_value=1, max_value=5),
    period=st.sampled_from([0.5, 1.0, 3.0, 60.0]) | st.floats(min_value=0.01, max_value=100),
)
gaps = st.sampled_from([0.0, 0.5, 1.0]) | st.floats(min_value=0, max_value=30)


@st.composite
def attempts(draw: st.DrawFn) -> list[Attempt]:
    """Attempts at non-decreasing times, on one or two keys."""
    start = draw(st.sampled_from([0.0, 1_700_000_000.0]) | st.floats(0, 2e9))
    steps = draw(st.lists(st.tuples(st.sampled_from("ab"), gaps), max_size=60))
    times = accumulate((gap for _, gap in steps), initial=start)
    return [(key, at) for (key, _), at in zip(steps, list(times)[1:], strict=True)]


def run(limiter: InMemoryRateLimiter, rate: Rate, sequence: list[Attempt]) -> list[RateDecision]:
    async def go() -> list[RateDecision]:
        return [await limiter.hit(key, rate, at) for key, at in sequence]

    return asyncio.run(go())


def reference(rate: Rate, sequence: list[Attempt]) -> list[RateDecision]:
    """The obvious model: keep every accepted time and count the window each time."""
    accepted: dict[str, list[float]] = {}
    out = []
    for key, at in sequence:
        log = accepted.setdefault(key, [])
        window = [s for s in log if s > at - rate.period]
        allowed = len(window) < rate.limit
        if allowed:
            log.append(at)
            window.append(at)
        out.append(
            RateDecision(
                allowed=allowed,
                limit=rate.limit,
                remaining=rate.limit - len(window),
                reset_after=max(max(window) + rate.period - at, 0.0),
                retry_after=0.0 if allowed else min(window) + rate.period - at,
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(rate=rates, sequence=attempts(), sweep_every=st.sampled_from([1, 3, 1024]))
def test_the_limiter_decides_exactly_as_the_naive_model(
    rate: Rate, sequence: list[Attempt], sweep_every: int
) -> None:
    decisions = run(InMemoryRateLimiter(sweep_every=sweep_every), rate, sequence)

    assert decisions == reference(rate, sequence)


@settings(max_examples=300, deadline=None)
@given(rate=rates, sequence=attempts())
def test_no_window_of_one_period_admits_more_than_the_limit(
    rate: Rate, sequence: list[Attempt]
) -> None:
    decisions = run(InMemoryRateLimiter(), rate, sequence)

    for key in "ab":
        accepted = [
            at for (k, at), d in zip(sequence, decisions, strict=True) if k == key and d.allowed
        ]
        for end in accepted:
            assert sum(end - rate.period < s <= end for s in accepted) <= rate.limit


@settings(max_examples=300, deadline=None)
@given(rate=rates, sequence=attempts())
def test_an_attempt_is_refused_only_when_its_window_already_holds_the_limit(
    rate: Rate, sequence: list[Attempt]
) -> None:
    decisions = run(InMemoryRateLimiter(), rate, sequence)

    for i, ((key, at), decision) in enumerate(zip(sequence, decisions, strict=True)):
        earlier_accepted = [
            s
            for (k, s), d in zip(sequence[:i], decisions[:i], strict=True)
            if k == key and d.allowed and s > at - rate.period
        ]
        assert decision.allowed == (len(earlier_accepted) < rate.limit)
        assert decision.retry_after >= 0


def test_keys_idle_for_two_periods_are_swept_and_active_ones_kept() -> None:
    limiter = InMemoryRateLimiter(sweep_every=1)
    rate = Rate(30, 60.0)
    for n in range(1000):  # a thousand clients, once each, a second apart
        asyncio.run(limiter.hit(f"client-{n}", rate, float(n)))
    # At t=999 those last seen two periods ago or earlier (t <= 879) are gone.
    assert len(limiter._logs) == 1000 - 880
    assert "client-879" not in limiter._logs
    assert "client-880" in limiter._logs

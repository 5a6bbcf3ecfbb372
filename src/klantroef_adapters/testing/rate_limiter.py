"""The RateLimiter contract."""

from __future__ import annotations

import asyncio
import random

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_core.domain.rates import Rate
from klantroef_core.errors import Unavailable
from klantroef_core.ports import RateDecision, RateLimiter

THREE_IN_TEN = Rate(limit=3, period=10.0)
T0 = 1_700_000_000.0


async def hits(limiter: RateLimiter, key: str, rate: Rate, *times: float) -> list[RateDecision]:
    return [await limiter.hit(key, rate, t) for t in times]


class RateLimiterContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.RateLimiter`, one test (or more) each.

    Subclass it as ``Test<YourLimiter>`` and provide the async fixture ``adapter``
    (a fresh limiter that remembers no attempt) and, optionally,
    ``unreachable_adapter`` (see :class:`ContractBase`).
    """

    # --- within the limit: allowed, remaining counts down, retry 0, reset a period on ---

    async def test_attempts_within_the_limit_are_allowed_and_count_down(
        self, adapter: RateLimiter
    ) -> None:
        decisions = await hits(adapter, "k", THREE_IN_TEN, T0, T0 + 1, T0 + 2)

        assert [d.allowed for d in decisions] == [True, True, True]
        assert [d.remaining for d in decisions] == [2, 1, 0]
        assert all(d.limit == 3 and d.retry_after == 0 for d in decisions)
        assert all(d.reset_after == pytest.approx(10.0) for d in decisions)

    # --- over the limit: refused, retry_after until the oldest leaves the window ---

    async def test_an_attempt_over_the_limit_is_refused_with_a_positive_retry_after(
        self, adapter: RateLimiter
    ) -> None:
        await hits(adapter, "k", THREE_IN_TEN, T0, T0 + 1, T0 + 2)

        refused = await adapter.hit("k", THREE_IN_TEN, T0 + 3)

        assert not refused.allowed
        assert refused.remaining == 0
        assert refused.retry_after == pytest.approx(7.0)
        assert refused.reset_after == pytest.approx(9.0)

    # --- allowed again once the oldest leaves (now - period, now]; same instants each count

    async def test_an_attempt_is_allowed_again_once_the_oldest_leaves_the_window(
        self, adapter: RateLimiter
    ) -> None:
        await hits(adapter, "k", THREE_IN_TEN, T0, T0 + 1, T0 + 2)

        assert not (await adapter.hit("k", THREE_IN_TEN, T0 + 9.999)).allowed
        again = await adapter.hit("k", THREE_IN_TEN, T0 + 10)

        assert again.allowed
        assert again.remaining == 0

    async def test_attempts_at_the_same_instant_each_count(self, adapter: RateLimiter) -> None:
        decisions = await hits(adapter, "k", THREE_IN_TEN, T0, T0, T0, T0)

        assert [d.allowed for d in decisions] == [True, True, True, False]

    # --- refused attempts are not counted ---

    async def test_a_refused_attempt_is_not_counted(self, adapter: RateLimiter) -> None:
        one_in_ten = Rate(limit=1, period=10.0)
        await adapter.hit("k", one_in_ten, T0)
        refused = await hits(adapter, "k", one_in_ten, T0 + 5, T0 + 6, T0 + 7)

        later = await adapter.hit("k", one_in_ten, T0 + 10)

        assert not any(d.allowed for d in refused)
        assert later.allowed

    # --- keys are independent, however alike they look ---

    async def test_keys_are_independent(self, adapter: RateLimiter) -> None:
        await hits(adapter, "a", THREE_IN_TEN, T0, T0, T0)

        other = await adapter.hit("b", THREE_IN_TEN, T0)

        assert other.allowed
        assert other.remaining == 2

    async def test_keys_that_share_a_prefix_or_differ_in_case_are_independent(
        self, adapter: RateLimiter
    ) -> None:
        keys = ["view:m1:2001:db8::1", "view:m1:2001:db8::10", "view:m1:2001:DB8::1", "view:m1"]
        for key in keys:
            first = await hits(adapter, key, THREE_IN_TEN, T0, T0 + 1)
            assert [d.remaining for d in first] == [2, 1], key

    # --- time is the caller's now, never the store's clock ---

    async def test_time_is_the_callers_now_not_the_stores_clock(self, adapter: RateLimiter) -> None:
        long_ago, far_ahead = 1_000.5, 4_000_000_000.25  # 1970 and 2096
        for key, start in (("past", long_ago), ("future", far_ahead)):
            decisions = await hits(adapter, key, THREE_IN_TEN, start, start + 1, start + 2)
            refused = await adapter.hit(key, THREE_IN_TEN, start + 9)
            again = await adapter.hit(key, THREE_IN_TEN, start + 10)

            assert [d.allowed for d in decisions] == [True, True, True]
            assert not refused.allowed
            assert refused.retry_after == pytest.approx(1.0)
            assert again.allowed

    # --- atomic per key: of many concurrent attempts exactly rate.limit are allowed ---

    async def test_concurrent_attempts_admit_exactly_the_limit(self, adapter: RateLimiter) -> None:
        rate = Rate(limit=7, period=60.0)

        decisions = await asyncio.gather(*(adapter.hit("k", rate, T0) for _ in range(40)))

        assert sum(d.allowed for d in decisions) == 7
        assert sorted(d.remaining for d in decisions if d.allowed) == list(range(7))
        assert not (await adapter.hit("k", rate, T0 + 1)).allowed

    # --- over any sequence, no window overfills and refusals only when full ---

    async def test_a_random_sequence_never_overfills_a_window_and_refuses_only_when_full(
        self, adapter: RateLimiter
    ) -> None:
        rate = Rate(limit=4, period=5.0)
        draw = random.Random(20240601)  # noqa: S311 (reproducible times, not a secret)
        times, t = [], T0
        for _ in range(120):
            t += draw.choice([0.0, 0.0, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 7.0]) + draw.random() / 8
            times.append(t)

        decisions = await hits(adapter, "k", rate, *times)

        accepted: list[float] = []
        for at, decision in zip(times, decisions, strict=True):
            in_window = [s for s in accepted if s > at - rate.period]
            assert decision.allowed == (len(in_window) < rate.limit)
            if decision.allowed:
                accepted.append(at)
            else:
                assert decision.retry_after == pytest.approx(min(in_window) + rate.period - at)
                assert decision.retry_after > 0
        for end in accepted:
            assert sum(end - rate.period < s <= end for s in accepted) <= rate.limit

    # --- attempts that land out of order (several processes) still never overfill ---

    async def test_an_attempt_landing_after_a_later_one_still_counts_the_window_it_ends(
        self, adapter: RateLimiter
    ) -> None:
        # Two processes read their clocks (10.0 and 10.0015 s after the first two
        # attempts) and the later reading lands first. It may drop 0.001 from its own
        # window, but the window ending at 10.0 still holds both attempts at 0.001.
        rate = Rate(limit=2, period=10.0)
        first, second = await hits(adapter, "k", rate, T0 + 0.001, T0 + 0.001)
        assert [first.allowed, second.allowed] == [True, True]
        assert (await adapter.hit("k", rate, T0 + 10.0015)).allowed
        late = await adapter.hit("k", rate, T0 + 10.0)
        assert not late.allowed
        assert late.retry_after == pytest.approx(0.001, abs=1e-5)

    async def test_attempts_landing_out_of_order_never_overfill_a_window(
        self, adapter: RateLimiter
    ) -> None:
        rate = Rate(limit=3, period=10.0)
        draw = random.Random(20261131)  # noqa: S311 (reproducible times, not a secret)
        times, t = [], T0
        for _ in range(200):  # clusters of attempts, each about a period after the last
            t += draw.choice([0.001, 0.002, 0.003, 9.995])
            times.append(t)
        # Each lands up to 10 ms late: the order the store sees is not the clocks' order.
        landing = sorted(times, key=lambda at: at + draw.uniform(0, 0.01))
        assert landing != times

        decisions = await hits(adapter, "k", rate, *landing)

        accepted = sorted(at for at, d in zip(landing, decisions, strict=True) if d.allowed)
        assert len(accepted) > rate.limit * 10  # the limit was reached many times
        for end in accepted:
            assert sum(end - rate.period < s <= end for s in accepted) <= rate.limit

    # --- when the store cannot be reached, hit raises Unavailable ---

    async def test_an_unreachable_store_raises_unavailable(
        self, unreachable_adapter: RateLimiter
    ) -> None:
        with pytest.raises(Unavailable):
            await unreachable_adapter.hit("k", THREE_IN_TEN, T0)

"""An adapter written outside the project, checked by the shipped contracts as its
author would: a test module in a folder of their own, run by pytest in a subprocess.

The faithful wrappers pass every contract test. Each broken one breaks exactly one
promise, and must fail, caught by the contract test named for that promise.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

PYTEST_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
"""

ADAPTERS = '''\
"""Somebody else's adapters: thin wrappers around the in-memory ones, some broken."""

from datetime import datetime

import pytest

from klantroef_adapters.memory.analytics_cache import InMemoryAnalyticsCache
from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.testing import (
    AnalyticsCacheContract,
    MediaRepositoryContract,
    RateLimiterContract,
)
from klantroef_core.ports.analytics_cache import CacheLookup


class WrappedRepository:
    def __init__(self) -> None:
        self.inner = InMemoryMediaRepository()

    async def add(self, media):
        await self.inner.add(media)

    async def get(self, media_id):
        return await self.inner.get(media_id)

    async def list_page(self, limit, after):
        return await self.inner.list_page(limit, after)

    async def delete(self, media_id):
        return await self.inner.delete(media_id)


class OldestFirstRepository(WrappedRepository):
    """Wrong order: each page comes back oldest first."""

    async def list_page(self, limit, after):
        return list(reversed(await self.inner.list_page(limit, after)))


class LosingRepository(WrappedRepository):
    """A lost write: the second add says nothing and stores nothing."""

    adds = 0

    async def add(self, media):
        self.adds += 1
        if self.adds != 2:
            await self.inner.add(media)


class WrappedLimiter:
    def __init__(self) -> None:
        self.inner = InMemoryRateLimiter()

    async def hit(self, key, rate, now):
        return await self.inner.hit(key, rate, now)


class ForgetfulLimiter(WrappedLimiter):
    """A lost write: every third attempt is judged, but not remembered."""

    hits = 0

    async def hit(self, key, rate, now):
        self.hits += 1
        if self.hits % 3 == 0:
            scratch = InMemoryRateLimiter()
            return await scratch.hit(key, rate, now)
        return await self.inner.hit(key, rate, now)


class WrappedCache:
    def __init__(self, clock) -> None:
        self.inner = InMemoryAnalyticsCache(ttl=600, monotonic=lambda: clock[0])

    async def lookup(self, media_id, days):
        return await self.inner.lookup(media_id, days)

    async def put(self, report, days, generation):
        await self.inner.put(report, days, generation)

    async def invalidate(self, media_id):
        await self.inner.invalidate(media_id)


class StaleCache(WrappedCache):
    """A stale read: what was once stored is served until replaced, whatever the generation."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.kept = {}

    async def lookup(self, media_id, days):
        found = await self.inner.lookup(media_id, days)
        if found.report is None and (media_id, days) in self.kept:
            return CacheLookup(found.generation, self.kept[media_id, days])
        return found

    async def put(self, report, days, generation):
        self.kept[report.media_id, days] = report
        await self.inner.put(report, days, generation)


class RepositoryFixtures:
    repository = WrappedRepository

    @pytest.fixture
    async def adapter(self):
        return self.repository()

    @pytest.fixture
    def view_log(self, adapter):
        return InMemoryViewLog(adapter.inner)


class TestFaithfulRepository(RepositoryFixtures, MediaRepositoryContract):
    pass


class TestOldestFirstRepository(RepositoryFixtures, MediaRepositoryContract):
    repository = OldestFirstRepository


class TestLosingRepository(RepositoryFixtures, MediaRepositoryContract):
    repository = LosingRepository


class TestFaithfulLimiter(RateLimiterContract):
    @pytest.fixture
    async def adapter(self):
        return WrappedLimiter()


class TestForgetfulLimiter(RateLimiterContract):
    @pytest.fixture
    async def adapter(self):
        return ForgetfulLimiter()


class CacheFixtures:
    cache = WrappedCache

    @pytest.fixture
    def clock(self):
        return [0.0]

    @pytest.fixture
    async def adapter(self, clock):
        return self.cache(clock)

    @pytest.fixture
    def let_ttl_pass(self, clock):
        async def let_pass():
            clock[0] += 600

        return let_pass


class TestFaithfulCache(CacheFixtures, AnalyticsCacheContract):
    pass


class TestStaleCache(CacheFixtures, AnalyticsCacheContract):
    cache = StaleCache
'''


def snippet() -> str:
    """The README's example under "Write your own adapter", exactly as written."""
    text = README.read_text("utf-8").split("## Write your own adapter", 1)[-1]
    found = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert found is not None, "the README has no 'Write your own adapter' example"
    return found.group(1)


def run_pytest(folder: Path) -> dict[str, dict[str, str]]:
    """Run pytest in ``folder`` as its owner would; outcome of each test, by class."""
    report = folder / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outcomes: dict[str, dict[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        owner = case.get("classname", "").rsplit(".", 1)[-1]
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = tag
        outcomes.setdefault(owner, {})[case.get("name", "")] = outcome
    return outcomes


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("someone-elses-project")
    (folder / "pytest.ini").write_text(PYTEST_INI, "utf-8")
    (folder / "test_own_adapter.py").write_text(snippet(), "utf-8")
    (folder / "test_adapters.py").write_text(textwrap.dedent(ADAPTERS), "utf-8")
    return run_pytest(folder)


def failed(results: dict[str, str]) -> set[str]:
    return {name for name, outcome in results.items() if outcome in {"failure", "error"}}


@pytest.mark.parametrize(
    "faithful",
    ["TestMyLimiter", "TestFaithfulRepository", "TestFaithfulLimiter", "TestFaithfulCache"],
)
def test_a_faithful_adapter_passes_every_contract_test(
    outcomes: dict[str, dict[str, str]], faithful: str
) -> None:
    results = outcomes[faithful]
    assert len(results) >= 10
    assert failed(results) == set()
    # A store in the process cannot be unreachable, nor (a cache) lose an invalidation.
    in_process = {"test_an_unreachable_store_raises_unavailable"}
    if faithful == "TestFaithfulCache":
        in_process |= {
            "test_a_view_whose_invalidation_was_lost_kills_the_report",
            "test_a_report_of_an_item_gone_from_the_log_is_not_served",
        }
    assert {name for name, outcome in results.items() if outcome == "skipped"} == in_process


FAITHFUL = {
    "TestOldestFirstRepository": "TestFaithfulRepository",
    "TestLosingRepository": "TestFaithfulRepository",
    "TestForgetfulLimiter": "TestFaithfulLimiter",
    "TestStaleCache": "TestFaithfulCache",
}


@pytest.mark.parametrize(
    ("broken", "caught_by"),
    [
        ("TestOldestFirstRepository", "test_items_with_one_timestamp_page_by_id_descending"),
        ("TestOldestFirstRepository", "test_a_page_starts_strictly_after_its_cursor"),
        ("TestLosingRepository", "test_deleting_returns_the_item_and_forgets_it"),
        ("TestForgetfulLimiter", "test_attempts_within_the_limit_are_allowed_and_count_down"),
        ("TestForgetfulLimiter", "test_concurrent_attempts_admit_exactly_the_limit"),
        ("TestStaleCache", "test_invalidating_kills_every_report_of_the_media"),
        ("TestStaleCache", "test_a_report_computed_before_an_invalidation_is_not_stored"),
    ],
)
def test_an_adapter_that_breaks_a_promise_fails_the_test_for_it(
    outcomes: dict[str, dict[str, str]], broken: str, caught_by: str
) -> None:
    assert caught_by in failed(outcomes[broken])
    # The same test passes for the faithful wrapper: what it caught is the broken promise.
    assert outcomes[FAITHFUL[broken]][caught_by] == "passed"


def test_the_broken_and_faithful_adapters_run_the_same_contract_tests(
    outcomes: dict[str, dict[str, str]],
) -> None:
    assert set(outcomes["TestOldestFirstRepository"]) == set(outcomes["TestFaithfulRepository"])
    assert set(outcomes["TestForgetfulLimiter"]) == set(outcomes["TestMyLimiter"])
    assert set(outcomes["TestStaleCache"]) == set(outcomes["TestFaithfulCache"])

"""Deterministic stand-ins for the Clock and IdGenerator ports (real implementations, no mocks)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float = 0, **kwargs: float) -> None:
        self.current += timedelta(seconds=seconds, **kwargs)

    def set(self, moment: datetime) -> None:
        self.current = moment


class SequentialIds:
    """UUID-shaped ids counting up from 1, so tests can predict them."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        return f"00000000-0000-4000-8000-{next(self._counter):012d}"

"""A Clock that moves only when told to, for contracts whose promises are about time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """A :class:`~klantroef_core.ports.Clock` that stands still until ``advance``\\ d or ``set``.

    It starts at ``start``, or at the real current time to the whole second: a
    store that hands deadlines to a server with its own clock (Redis expiring a
    key) needs the two to roughly agree.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("a ManualClock needs a timezone-aware start")
        self._now = start if start is not None else datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **kwargs: float) -> None:
        """Move forward by ``seconds`` (and any ``timedelta`` keywords: minutes=, days=...)."""
        step = timedelta(seconds=seconds, **kwargs)
        if step < timedelta(0):
            raise ValueError("a ManualClock does not run backwards")
        self._now += step

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (timezone-aware)."""
        if moment.tzinfo is None:
            raise ValueError("a ManualClock needs timezone-aware moments")
        self._now = moment

"""The log of views and the aggregates kept beside it."""

from __future__ import annotations

from typing import Protocol

from klantroef_core.domain.views import Analytics, DayRange, View


class ViewLog(Protocol):
    """Logs views and keeps exact per-media aggregates.

    ``record`` writes the log entry, the per-day count, the total and the
    unique-client set in one atomic step, with O(1) work: concurrent records
    neither lose nor double-count. ``report`` reads the aggregates in
    O(days), never by rescanning the log. Raises
    :class:`~klantroef_core.errors.Unavailable` when unreachable.
    """

    async def record(self, view: View) -> None:
        """Log ``view`` and update the aggregates atomically."""
        ...

    async def report(self, media_id: str, days: DayRange) -> Analytics:
        """Totals for ``media_id`` (zeros if nothing is logged); per-day counts within ``days``."""
        ...

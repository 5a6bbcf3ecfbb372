"""The log of views and the aggregates kept beside it."""

from __future__ import annotations

from typing import Protocol

from klantroef_core.domain.views import Analytics, DayRange, View


class ViewLog(Protocol):
    """Logs views and keeps exact per-media aggregates.

    ``record`` updates the per-day count, the total and the unique-client set in
    one atomic step, with O(1) work; ``report`` reads the aggregates in O(days),
    never by rescanning the log.

    Promises (each checked by ``klantroef_adapters.testing.ViewLogContract``):

    - An item never viewed, an unknown id and a malformed id all report zeros.
    - Every view counts once, each client once, and only for its own item.
    - Views count for their UTC day, whatever zone their time is given in.
    - A day range narrows the per-day counts (ascending by day) but never the totals.
    - A view of an item that is not in the media repository beside the log raises
      :class:`~klantroef_core.errors.UnknownMedia`.
    - Atomic: concurrent records are neither lost nor double-counted.
    - Every report equals a recount of the raw views, for any views and day range.
    - When the store cannot be reached, every method raises
      :class:`~klantroef_core.errors.Unavailable`.
    """

    async def record(self, view: View) -> None:
        """Log ``view`` and update the aggregates atomically."""
        ...

    async def report(self, media_id: str, days: DayRange) -> Analytics:
        """Totals for ``media_id`` (zeros if nothing is logged); per-day counts within ``days``."""
        ...

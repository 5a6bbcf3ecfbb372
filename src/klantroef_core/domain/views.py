"""Views of media and the analytics kept from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from klantroef_core.errors import InvalidInput

# An IPv6 address is at most 45 characters; an HMAC-SHA256 in hex is 64.
MAX_CLIENT_LENGTH = 64


@dataclass(frozen=True, slots=True)
class View:
    """One logged view: which media, from which client (IP or its keyed hash), and when."""

    media_id: str
    client: str
    viewed_at: datetime

    def __post_init__(self) -> None:
        if not 0 < len(self.client) <= MAX_CLIENT_LENGTH:
            raise InvalidInput("a view needs a client address of at most 64 characters")
        if self.viewed_at.tzinfo is None:
            raise InvalidInput("viewed_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Analytics:
    """Exact counts for one media item; ``views_per_day`` is ascending by UTC day."""

    media_id: str
    total_views: int
    unique_ips: int
    views_per_day: tuple[tuple[date, int], ...]

    def narrowed(self, days: DayRange) -> Analytics:
        """The same totals, with per-day counts only for the days in ``days``."""
        if days.first is None and days.last is None:
            return self
        kept = tuple((day, count) for day, count in self.views_per_day if days.contains(day))
        return Analytics(self.media_id, self.total_views, self.unique_ips, kept)


@dataclass(frozen=True, slots=True)
class DayRange:
    """An inclusive range of UTC days; either end may be open."""

    first: date | None = None
    last: date | None = None

    def __post_init__(self) -> None:
        if self.first and self.last and self.first > self.last:
            raise InvalidInput("'from' must not be after 'to'", code="bad_date_range")

    def contains(self, day: date) -> bool:
        """Whether ``day`` lies inside the range."""
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)

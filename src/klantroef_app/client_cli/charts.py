"""A per-day bar chart in the terminal, in Unicode block characters (eighths of a cell)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

_EIGHTHS = " ▏▎▍▌▋▊▉"
MAX_FILLED_DAYS = 92
"""Days without views between the first and last shown are drawn as empty bars, up to
about a quarter's span; a longer span lists only the days that had views."""


def bar(value: int, largest: int, width: int) -> str:
    """``value`` as a bar of at most ``width`` cells, ``largest`` filling them all."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value * width * 8 / largest))
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def days_to_draw(per_day: Mapping[str, int]) -> list[tuple[str, int]]:
    """The days in order; the gaps between them filled with zeros when the span is short."""
    days = sorted(per_day.items())
    if len(days) < 2:
        return days
    first, last = date.fromisoformat(days[0][0]), date.fromisoformat(days[-1][0])
    span = (last - first).days + 1
    if span > MAX_FILLED_DAYS:
        return days
    return [
        (day.isoformat(), per_day.get(day.isoformat(), 0))
        for day in (first + timedelta(days=n) for n in range(span))
    ]


def per_day_chart(per_day: Mapping[str, int], width: int = 50) -> list[str]:
    """One line per day: the date, the bar, the count."""
    rows = days_to_draw(per_day)
    if not rows:
        return ["no views yet"]
    largest = max(count for _, count in rows)
    digits = len(str(largest))
    return [
        f"{day}  {bar(count, largest, width).ljust(width)}  {count:>{digits}}"
        for day, count in rows
    ]

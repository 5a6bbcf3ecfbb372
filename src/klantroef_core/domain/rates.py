"""Rate limits as values: ``30/minute`` and friends."""

from __future__ import annotations

import re
from dataclasses import dataclass

from klantroef_core.errors import InvalidInput

_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``limit`` accepted requests in any window of ``period`` seconds."""

    limit: int
    period: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period <= 0:
            raise InvalidInput("a rate needs a positive limit and period", code="bad_rate")

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Parse ``"30/minute"``, ``"10/second"`` or ``"100/5minutes"``."""
        match = _RATE.match(text.lower())
        if not match:
            raise InvalidInput(f"not a rate: {text!r} (try '30/minute')", code="bad_rate")
        count, multiple, unit = match.groups()
        return cls(int(count), _UNITS[unit] * (int(multiple) if multiple else 1))

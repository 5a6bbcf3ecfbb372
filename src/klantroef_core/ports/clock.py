"""Time, as a port, so rules about expiry and days are testable without sleeping."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The current time."""

    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        ...

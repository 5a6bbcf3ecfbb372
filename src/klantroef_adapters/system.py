"""The real clock and the real source of identifiers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidGenerator:
    """Random (version 4) UUIDs: unguessable, so ids reveal nothing."""

    def new_id(self) -> str:
        return str(uuid.uuid4())

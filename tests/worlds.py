"""Worlds for the use-case tests, built by the composition root as in production.

A test gets a :class:`~klantroef_app.Container` from :func:`world`: every store in
memory, hashing made cheap, and deterministic stand-ins for the clock and the ids
unless it passes its own. Anything else it wants to control or observe, it passes
as an override (``rate_limiter=...``, ``view_log=...``); the use cases then come
from the container (``container.record_view()``), wired exactly as in production.
"""

from __future__ import annotations

from typing import Any

from klantroef_app import Container, Settings, in_memory
from tests.fakes import FakeClock, SequentialIds

FAST_HASHING: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 8,
    "argon2_parallelism": 1,
}


def settings(**fields: Any) -> Settings:
    """In-memory settings with cheap argon2 parameters; ``fields`` override any setting."""
    return Settings(**{**FAST_HASHING, **fields})


def world(settings_: Settings | None = None, **overrides: Any) -> Container:
    """The whole service in memory, with a FakeClock and SequentialIds unless overridden."""
    overrides.setdefault("clock", FakeClock())
    overrides.setdefault("ids", SequentialIds())
    return in_memory(settings_ if settings_ is not None else settings(), **overrides)

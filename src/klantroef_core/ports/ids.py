"""Identifier generation, as a port, so property tests stay deterministic."""

from __future__ import annotations

from typing import Protocol


class IdGenerator(Protocol):
    """Unique, unguessable identifiers."""

    def new_id(self) -> str:
        """A new identifier (a UUID string in production), never returned before."""
        ...

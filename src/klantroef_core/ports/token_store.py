"""Revoked access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class TokenStore(Protocol):
    """Remembers revoked token ids until the tokens would have expired anyway.

    Shared by every instance of the service: a revocation is visible to the next
    check anywhere. Idempotent: revoking twice is the same as once. Raises
    :class:`~klantroef_core.errors.Unavailable` when unreachable, so callers fail closed.
    """

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        """Mark ``token_id`` revoked until ``expires_at``."""
        ...

    async def is_revoked(self, token_id: str) -> bool:
        """Whether ``token_id`` was revoked (entries past their expiry may be forgotten)."""
        ...

    async def ping(self) -> None:
        """Return if the store is reachable, else raise Unavailable."""
        ...

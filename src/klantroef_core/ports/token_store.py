"""Revoked access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class TokenStore(Protocol):
    """Remembers revoked token ids until the tokens would have expired anyway.

    Time is the :class:`~klantroef_core.ports.Clock`'s, not the store's own.
    Shared by every instance of the service: a revocation is visible to the next
    check anywhere. Idempotent: revoking twice is the same as once. Raises
    :class:`~klantroef_core.errors.Unavailable` when unreachable, so callers fail closed.
    """

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        """Mark ``token_id`` revoked until ``expires_at``."""
        ...

    async def is_revoked(self, token_id: str) -> bool:
        """Whether ``token_id`` was revoked and its expiry is still ahead of the Clock.

        A revocation already past its expiry when given is not stored; entries
        past their expiry may be forgotten.
        """
        ...

"""Revoked access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class TokenStore(Protocol):
    """Remembers revoked token ids until the tokens would have expired anyway.

    Time is the :class:`~klantroef_core.ports.Clock`'s, not the store's own.
    Shared by every instance of the service: a revocation is visible to the next
    check anywhere; callers fail closed when the store is unreachable.

    Promises (each checked by ``klantroef_adapters.testing.TokenStoreContract``):

    - A token never revoked is not revoked; a revoked one is, and revoking one
      token leaves the others alone.
    - Idempotent: revoking twice is the same as once.
    - A revocation whose expiry is already past (by the Clock) is not kept.
    - A revocation is kept exactly until the Clock reaches its expiry: revoked
      one second before, not revoked from that instant on.
    - When the store cannot be reached, every method raises
      :class:`~klantroef_core.errors.Unavailable`.
    """

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        """Mark ``token_id`` revoked until ``expires_at``."""
        ...

    async def is_revoked(self, token_id: str) -> bool:
        """Whether ``token_id`` was revoked and its expiry is still ahead of the Clock.

        Entries past their expiry may be forgotten.
        """
        ...

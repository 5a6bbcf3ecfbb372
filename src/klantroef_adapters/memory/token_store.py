"""Revoked access tokens remembered in this process's memory."""

from __future__ import annotations

from datetime import datetime

from klantroef_core.ports import Clock


class InMemoryTokenStore:
    """A :class:`~klantroef_core.ports.token_store.TokenStore` for a single process.

    Maps each revoked token id to the moment its token expires; a revocation is
    never shortened by revoking again. Entries past expiry are forgotten when next
    looked at, and all of them every ``sweep_every`` revocations, so memory follows
    the tokens still alive. Revocations die with the process: fine for one process,
    whose tokens' signing keys usually die with it too; use a shared store otherwise.
    """

    def __init__(self, clock: Clock, *, sweep_every: int = 256) -> None:
        self._now = clock.now
        self._sweep_every = sweep_every
        self._revocations_since_sweep = 0
        self._revoked: dict[str, datetime] = {}

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        now = self._now()
        self._maybe_sweep(now)
        if expires_at <= now:
            return
        known = self._revoked.get(token_id)
        if known is None or known < expires_at:
            self._revoked[token_id] = expires_at

    async def is_revoked(self, token_id: str) -> bool:
        expires_at = self._revoked.get(token_id)
        if expires_at is None:
            return False
        if expires_at <= self._now():
            del self._revoked[token_id]
            return False
        return True

    def _maybe_sweep(self, now: datetime) -> None:
        self._revocations_since_sweep += 1
        if self._revocations_since_sweep < self._sweep_every:
            return
        self._revocations_since_sweep = 0
        for token_id in [t for t, expires_at in self._revoked.items() if expires_at <= now]:
            del self._revoked[token_id]

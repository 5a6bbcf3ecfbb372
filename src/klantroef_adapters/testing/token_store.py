"""The TokenStore contract."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_adapters.testing.clock import ManualClock
from klantroef_core.errors import Unavailable
from klantroef_core.ports import TokenStore


def in_(clock: ManualClock, seconds: float) -> datetime:
    return clock.now() + timedelta(seconds=seconds)


class TokenStoreContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.TokenStore`, one test (or more) each.

    Subclass it as ``Test<YourStore>`` and provide the async fixture ``adapter``:
    a fresh, empty store built with the ``clock`` fixture's clock (ask for
    ``clock`` in ``adapter``). ``clock`` defaults to a
    :class:`~klantroef_adapters.testing.ManualClock` at the real current time; the
    tests move it to let tokens expire. Optionally provide ``unreachable_adapter``
    (see :class:`ContractBase`).
    """

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    # --- never revoked: not revoked; revoked: revoked; others left alone ---

    async def test_a_token_never_revoked_is_not_revoked(self, adapter: TokenStore) -> None:
        assert not await adapter.is_revoked("jti-1")

    async def test_a_revoked_token_is_revoked(
        self, adapter: TokenStore, clock: ManualClock
    ) -> None:
        await adapter.revoke("jti-1", in_(clock, 600))

        assert await adapter.is_revoked("jti-1")

    async def test_revoking_one_token_leaves_the_others_alone(
        self, adapter: TokenStore, clock: ManualClock
    ) -> None:
        await adapter.revoke("jti-1", in_(clock, 600))

        assert not await adapter.is_revoked("jti-2")

    # --- idempotent: revoking twice is the same as once ---

    async def test_revoking_twice_is_the_same_as_once(
        self, adapter: TokenStore, clock: ManualClock
    ) -> None:
        expires_at = in_(clock, 600)
        await adapter.revoke("jti-1", expires_at)
        await adapter.revoke("jti-1", expires_at)

        assert await adapter.is_revoked("jti-1")
        clock.advance(599)
        assert await adapter.is_revoked("jti-1")
        clock.advance(1)
        assert not await adapter.is_revoked("jti-1")

    # --- a revocation already past its expiry is not kept ---

    async def test_a_revocation_that_already_expired_is_not_kept(
        self, adapter: TokenStore, clock: ManualClock
    ) -> None:
        await adapter.revoke("jti-1", in_(clock, -1))

        assert not await adapter.is_revoked("jti-1")

    # --- kept exactly until the Clock reaches the expiry ---

    async def test_a_revocation_is_forgotten_once_the_token_expires(
        self, adapter: TokenStore, clock: ManualClock
    ) -> None:
        await adapter.revoke("jti-1", in_(clock, 30))
        assert await adapter.is_revoked("jti-1")

        clock.advance(29)
        assert await adapter.is_revoked("jti-1")
        clock.advance(1)
        assert not await adapter.is_revoked("jti-1")

    # --- when the store cannot be reached, every method raises Unavailable ---

    async def test_an_unreachable_store_raises_unavailable(
        self, unreachable_adapter: TokenStore, clock: ManualClock
    ) -> None:
        with pytest.raises(Unavailable):
            await unreachable_adapter.revoke("jti-1", in_(clock, 600))
        with pytest.raises(Unavailable):
            await unreachable_adapter.is_revoked("jti-1")

"""The AdminRepository contract."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_adapters.testing.samples import an_admin
from klantroef_core.domain.admin import Email
from klantroef_core.errors import AlreadyExists, Unavailable
from klantroef_core.ports import AdminRepository


class AdminRepositoryContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.AdminRepository`, one test each.

    Subclass it as ``Test<YourRepository>`` and provide the async fixture
    ``adapter``: a fresh repository with no admin. Optionally provide
    ``unreachable_adapter`` (see :class:`ContractBase`).
    """

    # --- an added admin is found again, equal, by id and by email ---

    async def test_an_added_admin_is_found_by_id_and_email(self, adapter: AdminRepository) -> None:
        ann = an_admin()
        await adapter.add(ann)
        assert await adapter.get(ann.id) == ann
        assert await adapter.get_by_email(ann.email) == ann

    # --- unknown ids and emails give None; an empty repository has no admin ---

    async def test_unknown_admins_are_none(self, adapter: AdminRepository) -> None:
        assert await adapter.get("no-such-id") is None
        assert await adapter.get_by_email(Email("nobody@example.com")) is None
        assert await adapter.any_exist() is False

    # --- add raises AlreadyExists for a taken email ---

    async def test_a_taken_email_conflicts(self, adapter: AdminRepository) -> None:
        await adapter.add(an_admin(1, "ann@example.com"))
        with pytest.raises(AlreadyExists):
            await adapter.add(an_admin(2, "ann@example.com"))
        assert await adapter.get(an_admin(2).id) is None

    # --- add_if_none_exist inserts only the first admin ---

    async def test_the_first_admin_bootstraps_and_later_ones_do_not(
        self, adapter: AdminRepository
    ) -> None:
        assert await adapter.add_if_none_exist(an_admin(1)) is True
        assert await adapter.add_if_none_exist(an_admin(2)) is False
        assert await adapter.any_exist() is True
        assert await adapter.get(an_admin(2).id) is None

    # --- atomic: of many racing first signups exactly one succeeds ---

    async def test_racing_first_signups_leave_exactly_one_admin(
        self, adapter: AdminRepository
    ) -> None:
        results = await asyncio.gather(
            *(adapter.add_if_none_exist(an_admin(n)) for n in range(1, 9))
        )
        assert results.count(True) == 1
        winners = [n for n in range(1, 9) if await adapter.get(an_admin(n).id) is not None]
        assert len(winners) == 1
        assert results.index(True) + 1 == winners[0]

    # --- update_password_hash replaces the hash; a no-op for an unknown id ---

    async def test_the_password_hash_can_be_replaced(self, adapter: AdminRepository) -> None:
        ann = an_admin()
        await adapter.add(ann)
        await adapter.update_password_hash(ann.id, "$argon2id$new")
        stored = await adapter.get(ann.id)
        assert stored is not None
        assert stored.password_hash == "$argon2id$new"  # noqa: S105 (not a secret)
        assert (stored.id, stored.email, stored.created_at) == (ann.id, ann.email, ann.created_at)
        await adapter.update_password_hash("no-such-id", "ignored")
        assert await adapter.get("no-such-id") is None

    # --- when the store cannot be reached, every method raises Unavailable ---

    async def test_an_unreachable_store_raises_unavailable(
        self, unreachable_adapter: AdminRepository
    ) -> None:
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: unreachable_adapter.add(an_admin()),
            lambda: unreachable_adapter.add_if_none_exist(an_admin()),
            lambda: unreachable_adapter.get(an_admin().id),
            lambda: unreachable_adapter.get_by_email(an_admin().email),
            unreachable_adapter.any_exist,
            lambda: unreachable_adapter.update_password_hash(an_admin().id, "x"),
        ]
        for call in calls:
            with pytest.raises(Unavailable):
                await call()

"""AdminRepository: one suite, every implementation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from klantroef_adapters.memory.admin_repository import InMemoryAdminRepository
from klantroef_adapters.sql.admin_repository import SqlAdminRepository
from klantroef_core.domain.admin import Admin, Email
from klantroef_core.errors import AlreadyExists
from klantroef_core.ports import AdminRepository
from tests.sql_engines import mariadb_engine, sqlite_engine


@pytest.fixture(params=["memory", "sqlite", "mariadb"])
async def admins(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AdminRepository]:
    if request.param == "memory":
        yield InMemoryAdminRepository()
    elif request.param == "sqlite":
        async with sqlite_engine(tmp_path) as engine:
            yield SqlAdminRepository(engine)
    else:
        async with mariadb_engine() as engine:
            yield SqlAdminRepository(engine)


def an_admin(n: int = 1, email: str | None = None) -> Admin:
    return Admin(
        id=f"00000000-0000-4000-8000-{n:012d}",
        email=Email.parse(email or f"admin{n}@example.com"),
        password_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        created_at=datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC),
    )


async def test_an_added_admin_is_found_by_id_and_email(admins: AdminRepository) -> None:
    ann = an_admin()
    await admins.add(ann)
    assert await admins.get(ann.id) == ann
    assert await admins.get_by_email(ann.email) == ann


async def test_unknown_admins_are_none(admins: AdminRepository) -> None:
    assert await admins.get("no-such-id") is None
    assert await admins.get_by_email(Email("nobody@example.com")) is None
    assert await admins.any_exist() is False


async def test_a_taken_email_conflicts(admins: AdminRepository) -> None:
    await admins.add(an_admin(1, "ann@example.com"))
    with pytest.raises(AlreadyExists):
        await admins.add(an_admin(2, "ann@example.com"))


async def test_the_first_admin_bootstraps_and_later_ones_do_not(admins: AdminRepository) -> None:
    assert await admins.add_if_none_exist(an_admin(1)) is True
    assert await admins.add_if_none_exist(an_admin(2)) is False
    assert await admins.any_exist() is True
    assert await admins.get(an_admin(2).id) is None


async def test_racing_first_signups_leave_exactly_one_admin(admins: AdminRepository) -> None:
    results = await asyncio.gather(*(admins.add_if_none_exist(an_admin(n)) for n in range(1, 9)))
    assert results.count(True) == 1
    winners = [n for n in range(1, 9) if await admins.get(an_admin(n).id) is not None]
    assert len(winners) == 1


async def test_the_password_hash_can_be_replaced(admins: AdminRepository) -> None:
    ann = an_admin()
    await admins.add(ann)
    await admins.update_password_hash(ann.id, "$argon2id$new")
    stored = await admins.get(ann.id)
    assert stored is not None
    assert stored.password_hash == "$argon2id$new"
    await admins.update_password_hash("no-such-id", "ignored")

"""Where admin accounts live."""

from __future__ import annotations

from typing import Protocol

from klantroef_core.domain.admin import Admin, Email


class AdminRepository(Protocol):
    """Admin accounts, unique by normalised email.

    Promises (each checked by ``klantroef_adapters.testing.AdminRepositoryContract``):

    - An added admin is found again, equal, by id and by email.
    - Unknown ids and emails give None; an empty repository has no admin.
    - ``add`` raises :class:`~klantroef_core.errors.AlreadyExists` for a taken email.
    - ``add_if_none_exist`` inserts only the first admin; later calls return False
      and insert nothing.
    - It is atomic: of many racing first signups exactly one succeeds.
    - ``update_password_hash`` replaces the stored hash; for an unknown id it does nothing.
    - When the store cannot be reached, every method raises
      :class:`~klantroef_core.errors.Unavailable`.
    """

    async def add(self, admin: Admin) -> None:
        """Insert ``admin``; raise :class:`~klantroef_core.errors.AlreadyExists` if the email is taken."""
        ...

    async def add_if_none_exist(self, admin: Admin) -> bool:
        """Insert ``admin`` only while no admin exists; return whether it was inserted.

        Atomic, so two racing first signups cannot both bootstrap.
        """
        ...

    async def get(self, admin_id: str) -> Admin | None:
        """The admin with this id, or None."""
        ...

    async def get_by_email(self, email: Email) -> Admin | None:
        """The admin with this (normalised) email, or None."""
        ...

    async def any_exist(self) -> bool:
        """Whether at least one admin account exists."""
        ...

    async def update_password_hash(self, admin_id: str, password_hash: str) -> None:
        """Replace the stored hash (after a rehash on login). No-op for an unknown id."""
        ...

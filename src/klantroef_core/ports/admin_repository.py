"""Where admin accounts live."""

from __future__ import annotations

from typing import Protocol

from klantroef_core.domain.admin import Admin, Email


class AdminRepository(Protocol):
    """Admin accounts, unique by normalised email.

    Raises :class:`~klantroef_core.errors.Unavailable` when the store cannot be reached.
    """

    async def add(self, admin: Admin) -> None:
        """Insert ``admin``; raise :class:`~klantroef_core.errors.AlreadyExists` if the email is taken.

        Atomic: two concurrent adds of one email leave exactly one account.
        """
        ...

    async def add_if_none_exist(self, admin: Admin) -> bool:
        """Insert ``admin`` only while no admin exists; return whether it was inserted.

        Atomic, so two racing first signups cannot both bootstrap.
        Raises :class:`~klantroef_core.errors.AlreadyExists` if the email is taken.
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

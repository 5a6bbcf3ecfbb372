"""Admin accounts in a dict: the reference implementation of AdminRepository."""

from __future__ import annotations

from klantroef_core.domain.admin import Admin, Email
from klantroef_core.errors import AlreadyExists


class InMemoryAdminRepository:
    """Admins keyed by id, with an email index. Safe within one event loop (no awaits inside)."""

    def __init__(self) -> None:
        self.admins: dict[str, Admin] = {}

    async def add(self, admin: Admin) -> None:
        if any(a.email == admin.email for a in self.admins.values()):
            raise AlreadyExists(f"admin {admin.email}")
        self.admins[admin.id] = admin

    async def add_if_none_exist(self, admin: Admin) -> bool:
        if self.admins:
            return False
        self.admins[admin.id] = admin
        return True

    async def get(self, admin_id: str) -> Admin | None:
        return self.admins.get(admin_id)

    async def get_by_email(self, email: Email) -> Admin | None:
        return next((a for a in self.admins.values() if a.email == email), None)

    async def any_exist(self) -> bool:
        return bool(self.admins)

    async def update_password_hash(self, admin_id: str, password_hash: str) -> None:
        admin = self.admins.get(admin_id)
        if admin is not None:
            self.admins[admin_id] = Admin(admin.id, admin.email, password_hash, admin.created_at)

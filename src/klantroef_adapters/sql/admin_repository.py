"""Admin accounts in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from klantroef_adapters.sql.engine import SqlEngine, database_errors, from_db_time, to_db_time
from klantroef_adapters.sql.tables import admin_bootstrap, admins
from klantroef_core.domain.admin import Admin, Email
from klantroef_core.errors import AlreadyExists


def _row_to_admin(row: Any) -> Admin:
    return Admin(
        id=row.id,
        email=Email(row.email),
        password_hash=row.password_hash,
        created_at=from_db_time(row.created_at),
    )


def _values(admin: Admin) -> dict[str, Any]:
    return {
        "id": admin.id,
        "email": admin.email.value,
        "password_hash": admin.password_hash,
        "created_at": to_db_time(admin.created_at),
    }


# Built once: building and cache-keying a select per call cost more than running it.
_BY_ID = select(admins).where(admins.c.id == bindparam("the_id", type_=admins.c.id.type))
_BY_EMAIL = select(admins).where(
    admins.c.email == bindparam("the_email", type_=admins.c.email.type)
)


class SqlAdminRepository:
    """Admins in one table; the email's unique index settles races."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def add(self, admin: Admin) -> None:
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(admins).values(_values(admin)))
            except IntegrityError as exc:
                raise AlreadyExists(f"admin {admin.email}") from exc

    async def add_if_none_exist(self, admin: Admin) -> bool:
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    if (await conn.execute(select(exists().select_from(admins)))).scalar():
                        return False
                    await conn.execute(insert(admin_bootstrap).values(id=1))
                    await conn.execute(insert(admins).values(_values(admin)))
            except IntegrityError as exc:
                if await self.get_by_email(admin.email) is not None:
                    raise AlreadyExists(f"admin {admin.email}") from exc
                return False  # another first signup won the bootstrap row
            return True

    async def get(self, admin_id: str) -> Admin | None:
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(_BY_ID, {"the_id": admin_id})).first()
        return _row_to_admin(row) if row else None

    async def get_by_email(self, email: Email) -> Admin | None:
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(_BY_EMAIL, {"the_email": email.value})).first()
        return _row_to_admin(row) if row else None

    async def any_exist(self) -> bool:
        async with database_errors(), self._engine.connect() as conn:
            return bool((await conn.execute(select(exists().select_from(admins)))).scalar())

    async def update_password_hash(self, admin_id: str, password_hash: str) -> None:
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(
                update(admins).where(admins.c.id == admin_id).values(password_hash=password_hash)
            )

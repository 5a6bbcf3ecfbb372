"""Claims on uploads in SQL: one row per claimed name, taken over once expired."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.exc import IntegrityError

from klantroef_adapters.sql.engine import SqlEngine, database_errors, to_db_time
from klantroef_adapters.sql.tables import upload_leases as table
from klantroef_core.ports import Clock

STALE_AFTER = timedelta(hours=1)
"""Rows of claims expired this long ago (their holder died) go with any release."""


class SqlUploadLeases:
    """The ``upload_leases`` table: an :class:`~klantroef_adapters.storage.leases.UploadLeases`
    for every host on one database. Expiry is read from ``clock`` (the hosts' clocks are
    assumed to agree to well within a claim's lifetime)."""

    def __init__(self, engine: SqlEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def claim(self, name: str, holder: str, seconds: float) -> bool:
        now = self._clock.now()
        until = to_db_time(now + timedelta(seconds=seconds))
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(
                        insert(table).values(name=name, holder=holder, expires_at=until)
                    )
                return True
            except IntegrityError:
                pass  # held, or held once: take it over only if that claim has expired
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    update(table)
                    .where(table.c.name == name, table.c.expires_at <= to_db_time(now))
                    .values(holder=holder, expires_at=until)
                )
        return bool(result.rowcount == 1)

    async def renew(self, name: str, holder: str, seconds: float) -> bool:
        until = to_db_time(self._clock.now() + timedelta(seconds=seconds))
        async with database_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                update(table)
                .where(table.c.name == name, table.c.holder == holder)
                .values(expires_at=until)
            )
        return bool(result.rowcount == 1)

    async def release(self, name: str, holder: str) -> None:
        stale = to_db_time(self._clock.now() - STALE_AFTER)
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(
                delete(table).where(
                    or_(
                        (table.c.name == name) & (table.c.holder == holder),
                        table.c.expires_at < stale,
                    )
                )
            )

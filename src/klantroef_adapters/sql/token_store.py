"""Revoked access tokens in SQL, so a restart revives no logged-out token."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.expression import Executable

from klantroef_adapters.memory.token_store import InMemoryTokenStore
from klantroef_adapters.sql.engine import SqlEngine, database_errors, from_db_time, to_db_time
from klantroef_adapters.sql.tables import revoked_tokens
from klantroef_core.ports import Clock


class SqlTokenStore:
    """One row per revoked ``jti``; rows past expiry are swept on each revoke."""

    def __init__(self, engine: SqlEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._sqlite = engine.dialect.name == "sqlite"

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        now = self._clock.now()
        if expires_at <= now:
            return
        values = {"jti": token_id, "expires_at": to_db_time(expires_at)}
        statement: Executable
        if self._sqlite:
            statement = sqlite_insert(revoked_tokens).values(values).on_conflict_do_nothing()
        else:
            statement = mysql_insert(revoked_tokens).values(values).prefix_with("IGNORE")
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(statement)
            await conn.execute(
                delete(revoked_tokens).where(revoked_tokens.c.expires_at < to_db_time(now))
            )

    async def is_revoked(self, token_id: str) -> bool:
        now = to_db_time(self._clock.now())
        query = select(
            exists().where(revoked_tokens.c.jti == token_id, revoked_tokens.c.expires_at > now)
        )
        async with database_errors(), self._engine.connect() as conn:
            return bool((await conn.execute(query)).scalar())

    async def active(self) -> list[tuple[str, datetime]]:
        """Every revocation that has not expired yet: token id and expiry."""
        now = to_db_time(self._clock.now())
        query = select(revoked_tokens.c.jti, revoked_tokens.c.expires_at).where(
            revoked_tokens.c.expires_at > now
        )
        async with database_errors(), self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(row.jti, from_db_time(row.expires_at)) for row in rows]


class MirroredSqlTokenStore:
    """Revocations kept in SQL (so a restart revives nothing) and answered from memory.

    Only for a deployment where this process is the only one revoking tokens
    (the embedded default, which refuses several workers without Redis): the
    mirror is loaded once, then every revocation goes to both, so a check costs
    a dict lookup instead of a database round trip.
    """

    def __init__(self, durable: SqlTokenStore, clock: Clock) -> None:
        self._durable = durable
        self._mirror = InMemoryTokenStore(clock)
        self._loaded = False
        self._loading = asyncio.Lock()

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        await self._load()
        await self._durable.revoke(token_id, expires_at)
        await self._mirror.revoke(token_id, expires_at)

    async def is_revoked(self, token_id: str) -> bool:
        await self._load()
        return await self._mirror.is_revoked(token_id)

    async def _load(self) -> None:
        if self._loaded:
            return
        async with self._loading:
            if self._loaded:
                return
            for token_id, expires_at in await self._durable.active():
                await self._mirror.revoke(token_id, expires_at)
            self._loaded = True

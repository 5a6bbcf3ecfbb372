"""An exact sliding-log rate limiter shared by every process through the database."""

from __future__ import annotations

import hashlib
import logging
from bisect import bisect_right, insort
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

from klantroef_adapters.sql.engine import SqlConnection, SqlEngine, database_errors
from klantroef_adapters.sql.tables import rate_limits
from klantroef_adapters.sql.view_log import run_with_retries
from klantroef_core.domain.rates import Rate
from klantroef_core.errors import Unavailable
from klantroef_core.ports.rate_limiter import RateDecision

_log = logging.getLogger(__name__)

DEFAULT_SWEEP_EVERY = 1_000
DEFAULT_SWEEP_BATCH = 1_000
_CREATE_RACES = 3

# Built once, run with these parameters (insert() reserves the column names).
_KEY = bindparam("the_key", type_=rate_limits.c.key_hash.type)
_ACCEPTED = bindparam("the_accepted", type_=rate_limits.c.accepted.type)
_EXPIRES_AT = bindparam("the_expiry", type_=rate_limits.c.expires_at.type)
_NOW = bindparam("the_now", type_=rate_limits.c.expires_at.type)


def key_hash(key: str) -> str:
    """The row a key's log lives in: SHA-256 of the key, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


class SqlRateLimiter:
    """A :class:`~klantroef_core.ports.rate_limiter.RateLimiter` on one row per key.

    A hit is one transaction: lock the key's row (``SELECT ... FOR UPDATE``),
    count the attempts later than ``now - period`` (later than ``now`` too: an
    attempt may land after a later one, see the port), and, if fewer than
    ``limit``, write the log back with this attempt in it, less the attempts
    more than two periods old. Every process judging the key waits for that
    lock, so hits on one key are serialised across processes and no window ever
    holds more than ``limit`` accepted attempts; a refused attempt writes
    nothing. The log holds about ``2 * limit`` times, so a hit reads and writes
    O(limit) bytes; on MySQL/MariaDB in two statements and a commit (one
    statement for a refusal).

    On MySQL/MariaDB a key's first hit finds no row and inserts it without
    overwriting: if another process inserted it meanwhile, the insert does
    nothing (having waited for that process's commit) and the hit starts over
    on the now existing, lockable row, in the same transaction. SQLite has no
    ``FOR UPDATE`` and its driver starts a transaction only at the first write,
    so there the hit writes first: it inserts the key's row with an empty log
    unless it exists, which takes the database's write lock (other processes
    wait for it, up to the busy timeout) before the log is read. Deadlocks and
    lock timeouts rerun the transaction (``run_with_retries``).

    Time is the caller's ``now``, never the database's clock. Rows whose newest
    attempt is two periods old are deleted by a sweep every ``sweep_every``
    hits of this instance (at most ``sweep_batch`` rows on MySQL/MariaDB), so the
    table follows the clients active within a period, not every client ever seen.
    """

    def __init__(
        self,
        engine: SqlEngine,
        *,
        sweep_every: int = DEFAULT_SWEEP_EVERY,
        sweep_batch: int = DEFAULT_SWEEP_BATCH,
    ) -> None:
        self._engine = engine
        self._sweep_every = sweep_every
        self._hits_since_sweep = 0
        sqlite = engine.dialect.name == "sqlite"
        # SQLite: take the write lock and make sure the row exists before reading it.
        self._claim = (
            sqlite_insert(rate_limits)
            .values(key_hash=_KEY, accepted="", expires_at=0.0)
            .on_conflict_do_nothing()
            if sqlite
            else None
        )
        self._lock = (
            select(rate_limits.c.accepted).where(rate_limits.c.key_hash == _KEY).with_for_update()
        )
        self._create = _insert_if_absent(sqlite=sqlite)
        self._write = (
            update(rate_limits)
            .where(rate_limits.c.key_hash == _KEY)
            .values(accepted=_ACCEPTED, expires_at=_EXPIRES_AT)
        )
        sweep = delete(rate_limits).where(rate_limits.c.expires_at <= _NOW)
        self._sweep = sweep if sqlite else sweep.with_dialect_options(mysql_limit=sweep_batch)

    async def hit(self, key: str, rate: Rate, now: float) -> RateDecision:
        params = {"the_key": key_hash(key)}
        async with database_errors():
            decision = await run_with_retries(lambda: self._hit_once(params, rate, now))
        await self._maybe_sweep(now)
        return decision

    async def sweep(self, now: float) -> int:
        """Delete the rows of keys with no attempt left in its window; how many went."""
        async with database_errors(), self._engine.begin() as conn:
            return (await conn.execute(self._sweep, {"the_now": now})).rowcount

    async def _hit_once(self, params: dict[str, Any], rate: Rate, now: float) -> RateDecision:
        async with self._engine.begin() as conn:
            if self._claim is not None:
                await conn.execute(self._claim, params)
            for _ in range(_CREATE_RACES):
                stored = (await conn.execute(self._lock, params)).scalar_one_or_none()
                # Kept: what an attempt landing up to a period late could still count.
                kept = [t for t in _parse(stored) if t > now - 2 * rate.period]
                allowed = len(_in_window(kept, rate, now)) < rate.limit
                if allowed:
                    insort(kept, now)
                    exists = stored is not None
                    if not await self._store(conn, params, kept, rate, exists=exists):
                        continue  # another process created the row first: lock it, judge again
                return _decision(_in_window(kept, rate, now), rate, now, allowed=allowed)
        # Only a row deleted (reset, swept) each time right after another process made it.
        raise Unavailable("the rate limit's row kept changing under this hit")

    async def _store(
        self,
        conn: SqlConnection,
        params: dict[str, Any],
        accepted: list[float],
        rate: Rate,
        *,
        exists: bool,
    ) -> bool:
        """Write the log back; False if it had no row and another process made one meanwhile."""
        values = {
            **params,
            "the_accepted": " ".join(map(repr, accepted)),
            "the_expiry": accepted[-1] + 2 * rate.period,
        }
        if exists:
            await conn.execute(self._write, values)
            return True
        return (await conn.execute(self._create, values)).rowcount > 0

    async def _maybe_sweep(self, now: float) -> None:
        self._hits_since_sweep += 1
        if self._hits_since_sweep < self._sweep_every:
            return
        self._hits_since_sweep = 0
        try:
            await self.sweep(now)
        except (Unavailable, DBAPIError) as exc:  # housekeeping: the next sweep tries again
            _log.warning("sweeping expired rate-limit rows failed: %s", exc)


def _parse(stored: str | None) -> list[float]:
    return [float(t) for t in stored.split()] if stored else []


def _in_window(kept: list[float], rate: Rate, now: float) -> list[float]:
    """The kept attempts later than ``now - period`` (later than ``now`` included)."""
    return kept[bisect_right(kept, now - rate.period) :]


def _decision(accepted: list[float], rate: Rate, now: float, *, allowed: bool) -> RateDecision:
    return RateDecision(
        allowed=allowed,
        limit=rate.limit,
        remaining=max(rate.limit - len(accepted), 0),
        reset_after=max(accepted[-1] + rate.period - now, 0.0),
        retry_after=0.0 if allowed else accepted[0] + rate.period - now,
    )


def _insert_if_absent(*, sqlite: bool) -> Executable:
    values = {"key_hash": _KEY, "accepted": _ACCEPTED, "expires_at": _EXPIRES_AT}
    if sqlite:
        return sqlite_insert(rate_limits).values(values).on_conflict_do_nothing()
    # INSERT IGNORE: a row count of 0 tells "someone else's row", which
    # ON DUPLICATE KEY UPDATE cannot promise under CLIENT_FOUND_ROWS.
    return mysql_insert(rate_limits).values(values).prefix_with("IGNORE")

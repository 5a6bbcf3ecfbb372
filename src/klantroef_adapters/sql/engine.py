"""Engines for SQLite (the embedded default) and MySQL/MariaDB, tuned for each.

SQLite runs inline on the event loop (``inline_sqlite.InlineSqliteEngine``);
MySQL/MariaDB through SQLAlchemy's ``AsyncEngine`` over asyncmy (``mysql+asyncmy://``,
and what a bare ``mysql://`` or ``mariadb://`` gets) or aiomysql (``mysql+aiomysql://``). The adapters see either
through :class:`SqlEngine`, the part of ``AsyncEngine`` they use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, TypeVarTuple, overload

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Dialect, make_url
from sqlalchemy.engine.interfaces import CoreExecuteOptionsParameter
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

from klantroef_adapters.sql.inline_sqlite import InlineSqliteEngine
from klantroef_core.errors import Unavailable

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

# A write waiting for another process's lock blocks the event loop (and so every
# request of this worker) that long at most; this process never waits for itself.
BUSY_TIMEOUT_MS = 5000

DEFAULT_TIMEOUT = 5.0
"""Seconds a unit of work on MySQL/MariaDB may take (``KLANTROEF_DB_TIMEOUT``)."""

_log = logging.getLogger(__name__)


class SqlConnection(Protocol):
    """What the adapters do inside ``async with engine.begin()/connect() as conn``."""

    @overload
    async def execute(
        self,
        statement: TypedReturnsRows[*_Ts],
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[*_Ts]: ...

    @overload
    async def execute(
        self,
        statement: Executable,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[*tuple[Any, ...]]: ...

    async def run_sync(
        self, fn: Callable[Concatenate[Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class SqlEngine(Protocol):
    """The part of ``AsyncEngine`` the adapters use; ``InlineSqliteEngine`` has it too."""

    @property
    def dialect(self) -> Dialect: ...

    def begin(self) -> AbstractAsyncContextManager[SqlConnection]: ...

    def connect(self) -> AbstractAsyncContextManager[SqlConnection]: ...

    async def dispose(self) -> None: ...


def is_sqlite(url: str) -> bool:
    """Whether the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, pool_size: int = 10, timeout: float | None = DEFAULT_TIMEOUT
) -> SqlEngine:
    """An engine for ``url``; connects lazily, on first use.

    Any SQLite URL (``sqlite://``, ``sqlite+aiosqlite://``, ...) gets the inline
    engine over the standard library's driver, with one connection whatever
    ``pool_size`` says, and ``timeout`` does not apply: its statements never
    wait on a network, and a lock held by another process is waited for at most
    ``BUSY_TIMEOUT_MS``. Several processes on one SQLite file are discouraged:
    each write of one waits for the others' with its event loop blocked.

    On MySQL/MariaDB every unit of work (``begin()`` or ``connect()`` block: the
    pool checkout with its connect and ping, each statement, the commit) must end
    within ``timeout`` seconds (:class:`BoundedEngine`); ``None`` bounds only the
    connect and the pool wait (for migrations, whose DDL may take longer).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        sync_engine = create_sync_engine(
            parsed.set(drivername="sqlite+pysqlite"),
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(sync_engine, "connect", _sqlite_pragmas)
        return InlineSqliteEngine(sync_engine)
    if parsed.drivername in {"mysql", "mariadb"}:  # no driver named: the fast one
        parsed = parsed.set(drivername="mysql+asyncmy")
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    waits = timeout if timeout is not None else DEFAULT_TIMEOUT
    connect_args: dict[str, Any] = {"connect_timeout": max(1, round(waits))}
    if timeout is None:  # migrations: SQLAlchemy's own transactions, a ping per checkout
        return create_async_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_recycle=POOL_RECYCLE,
            pool_timeout=waits,
            connect_args=connect_args,
            isolation_level=ISOLATION,
        )
    # The served engine: autocommit at the driver, explicit transactions in
    # BoundedEngine.begin(), a ping only for a connection that sat idle. A read is
    # then one round trip, and a transaction its statements plus START and COMMIT
    # (SQLAlchemy's way: a ping, the statements, COMMIT, then a ROLLBACK on return).
    connect_args["init_command"] = f"SET SESSION TRANSACTION ISOLATION LEVEL {ISOLATION}"
    engine = create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=0,  # an overflow connection is closed at check-in: a connect per burst
        pool_recycle=POOL_RECYCLE,
        pool_timeout=waits,
        connect_args=connect_args,
        isolation_level="AUTOCOMMIT",
        skip_autocommit_rollback=True,
        pool_reset_on_return=None,
    )
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    return BoundedEngine(engine, timeout)


POOL_RECYCLE = 280
"""Seconds a MySQL/MariaDB connection is reused: below ``wait_timeout`` in any sane setup."""
ISOLATION = "READ COMMITTED"
"""Fewer gap locks on the hot view upserts."""
IDLE_BEFORE_PING = 2.0
"""A pooled connection unused this long is pinged before it is handed out."""


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat in the pool a while (the server may have restarted
    or a proxy dropped it) and have the pool replace it if the ping fails; a
    connection in steady use is handed out as is. Runs inside the checkout, in
    the pool's greenlet, so the driver's ping can be awaited from here."""
    checked_in = record.info.get("checked_in_at")
    if checked_in is None or time.monotonic() - checked_in < IDLE_BEFORE_PING:
        return  # fresh from connect, or in steady use
    try:
        dbapi_connection.ping(False)
    except Exception as exc:
        raise DisconnectionError("a pooled connection did not answer a ping") from exc


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in_at"] = time.monotonic()


class Deadline:
    """``asyncio.timeout`` that keeps cancelling until the block gives up.

    Python 3.11's ``asyncio.wait_for`` (which aiomysql uses to connect, and the
    pool to wait for a connection) can swallow a cancellation that arrives just as
    what it waits for completes; the code then goes on to wait for the server's
    greeting, and a single cancellation would never come again: a request hung on
    a frozen server, exactly what the deadline is for. So once the deadline has
    passed the task is cancelled again every ``RECANCEL`` seconds until the
    block ends, which then raises ``TimeoutError`` as ``asyncio.timeout`` does.
    """

    RECANCEL = 0.2

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._cancels = 0
        self._task: asyncio.Task[Any] | None = None
        self._handle: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> Deadline:
        self._task = asyncio.current_task()
        if self._task is None:
            raise RuntimeError("Deadline must be used inside a task")
        self._handle = asyncio.get_running_loop().call_later(self._seconds, self._expire)
        return self

    def _expire(self) -> None:
        if self._task is None or self._task.done():
            return
        self._cancels += 1
        self._task.cancel()
        self._handle = asyncio.get_running_loop().call_later(self.RECANCEL, self._expire)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self._cancels == 0 or self._task is None:
            return
        remaining = self._task.cancelling()
        for _ in range(self._cancels):
            remaining = self._task.uncancel()
        if exc_type is asyncio.CancelledError and remaining == 0:
            raise TimeoutError from exc


class DatabaseTimeout(TimeoutError):
    """A unit of work on the database did not finish in time (an ``OSError``, so
    :func:`database_errors` makes it ``Unavailable``)."""


class BoundedEngine:
    """An ``AsyncEngine`` whose every ``begin()``/``connect()`` block ends within ``timeout``.

    aiomysql has a connect timeout but none for reading an answer: a frozen
    server (a stalled disk, a partition) would hold a request, and its pooled
    connection, forever. Here the whole block (checkout, connect, a ping if the
    connection sat idle, statements, commit) runs under one deadline. When it passes, the connection
    is invalidated (closed without a word to the server, whose state for it is
    unknown) rather than rolled back, which would wait on the same silence, and
    :class:`DatabaseTimeout` is raised. The pool then opens a fresh connection
    on the next checkout, so the service recovers by itself once the server answers.

    The engine it wraps runs the driver in autocommit mode (:func:`create_engine`):
    a ``connect()`` block's reads each stand alone (READ COMMITTED gives a statement
    no more than that anyway), and ``begin()`` opens an explicit transaction that is
    committed when the block ends, or rolled back when it raises.
    """

    def __init__(self, engine: AsyncEngine, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError("the database timeout must be positive")
        self._engine = engine
        self.timeout = timeout

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    def begin(self) -> AbstractAsyncContextManager[SqlConnection]:
        return self._unit(begin=True)

    def connect(self) -> AbstractAsyncContextManager[SqlConnection]:
        return self._unit(begin=False)

    async def dispose(self) -> None:
        await self._engine.dispose()

    @asynccontextmanager
    async def _unit(self, *, begin: bool) -> AsyncIterator[SqlConnection]:
        conn = self._engine.connect()
        unit = _Unit(conn)
        try:
            async with Deadline(self.timeout):
                await conn.start()
                if begin:
                    await unit.begin()
                yield unit
                await unit.commit()
        except TimeoutError as exc:
            await _discard(conn)
            raise DatabaseTimeout(f"the database did not answer within {self.timeout:g} s") from exc
        except Exception:
            # An answer came: roll back what the block left open.
            await self._release(conn, rollback=unit.in_transaction)
            raise
        except BaseException:
            # Cancelled (a client gone, a caller's own deadline) maybe mid-statement:
            # the connection's state is unknown, and a rollback could wait on a silent server.
            await _discard(conn)
            raise
        await self._release(conn, rollback=False)

    async def _release(self, conn: AsyncConnection, *, rollback: bool) -> None:
        """Return the connection to the pool, bounded; roll back first if a
        transaction is open (the driver is in autocommit mode, so SQLAlchemy
        does not know of the block's explicit transaction)."""
        if conn.sync_connection is None:
            return  # never checked out
        try:
            async with Deadline(self.timeout):
                if rollback and not conn.invalidated:
                    await conn.exec_driver_sql("ROLLBACK")
                await conn.close()
        except TimeoutError:
            await _discard(conn)
        except Exception as exc:  # the rollback failed: the connection cannot be trusted
            _log.warning("discarding a connection whose rollback failed: %r", exc)
            await _discard(conn)
        except BaseException:  # cancelled mid-rollback: its state is unknown
            await _discard(conn)
            raise


class _Unit:
    """The connection a :class:`BoundedEngine` block gets: SQLAlchemy's, with the
    transaction made explicit (the driver runs in autocommit mode, so SQLAlchemy
    sends nothing for ``commit``/``rollback``): ``START TRANSACTION`` when the
    block begins one, ``COMMIT``/``ROLLBACK`` when asked or when the block ends."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.in_transaction = False
        self.execute = conn.execute
        self.run_sync = conn.run_sync

    async def begin(self) -> None:
        self.in_transaction = True  # before the round trip: a failure must roll back
        await self._conn.exec_driver_sql("START TRANSACTION")

    async def commit(self) -> None:
        if self.in_transaction:
            await self._conn.exec_driver_sql("COMMIT")
            self.in_transaction = False

    async def rollback(self) -> None:
        if self.in_transaction:
            await self._conn.exec_driver_sql("ROLLBACK")
            self.in_transaction = False


async def _discard(conn: AsyncConnection) -> None:
    """Invalidate ``conn`` (its socket is closed; the pool reconnects later) and drop it."""
    if conn.sync_connection is None or conn.closed:
        return
    try:
        async with Deadline(1.0):
            await conn.invalidate()
            await conn.close()
    except Exception as exc:  # the connection is being thrown away anyway
        _log.warning("could not discard a timed-out database connection: %r", exc)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(pragma)
    cursor.close()


def to_db_time(moment: datetime) -> datetime:
    """Aware UTC -> naive UTC, as stored."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db_time(stored: datetime) -> datetime:
    """Naive UTC, as stored -> aware UTC."""
    return stored.replace(tzinfo=UTC)


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Turn a lost or refused connection into the core's Unavailable; let the rest through."""
    try:
        yield
    except (OperationalError, PoolTimeout, OSError, ConnectionError) as exc:
        raise Unavailable("the database is unreachable") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("the database connection was lost") from exc
        raise

"""Engines for SQLite (the embedded default) and MySQL/MariaDB, tuned for each.

SQLite runs inline on the event loop (``inline_sqlite.InlineSqliteEngine``);
MySQL/MariaDB through aiomysql's ``AsyncEngine``. The adapters see either
through :class:`SqlEngine`, the part of ``AsyncEngine`` they use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, TypeVarTuple, overload

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Dialect, make_url
from sqlalchemy.engine.interfaces import CoreExecuteOptionsParameter
from sqlalchemy.exc import DBAPIError, OperationalError
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
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    waits = timeout if timeout is not None else DEFAULT_TIMEOUT
    engine = create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=280,  # below MariaDB's wait_timeout in any sane setup
        pool_timeout=waits,
        connect_args={"connect_timeout": max(1, round(waits))},
        isolation_level="READ COMMITTED",  # fewer gap locks on the hot view upserts
    )
    return engine if timeout is None else BoundedEngine(engine, timeout)


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
    connection, forever. Here the whole block (checkout, connect, pre-ping,
    statements, commit) runs under one deadline. When it passes, the connection
    is invalidated (closed without a word to the server, whose state for it is
    unknown) rather than rolled back, which would wait on the same silence, and
    :class:`DatabaseTimeout` is raised. The pool then opens a fresh connection
    on the next checkout, so the service recovers by itself once the server answers.
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
        try:
            async with Deadline(self.timeout):
                await conn.start()
                if begin:
                    await conn.begin()
                yield conn
                if begin:
                    await conn.commit()
        except TimeoutError as exc:
            await _discard(conn)
            raise DatabaseTimeout(f"the database did not answer within {self.timeout:g} s") from exc
        except Exception:
            await self._release(conn)  # an answer came: roll back what the block left open
            raise
        except BaseException:
            # Cancelled (a client gone, a caller's own deadline) maybe mid-statement:
            # the connection's state is unknown, and a rollback could wait on a silent server.
            await _discard(conn)
            raise
        await self._release(conn)

    async def _release(self, conn: AsyncConnection) -> None:
        """Return the connection to the pool (a rollback, if a transaction is open), bounded."""
        if conn.sync_connection is None:
            return  # never checked out
        try:
            async with Deadline(self.timeout):
                await conn.close()
        except TimeoutError:
            await _discard(conn)


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

"""Engines for SQLite (the embedded default) and MySQL/MariaDB, tuned for each.

SQLite runs inline on the event loop (``inline_sqlite.InlineSqliteEngine``);
MySQL/MariaDB through aiomysql's ``AsyncEngine``. The adapters see either
through :class:`SqlEngine`, the part of ``AsyncEngine`` they use.
"""

from __future__ import annotations

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
from sqlalchemy.ext.asyncio import create_async_engine
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


def create_engine(url: str, *, pool_size: int = 10) -> SqlEngine:
    """An engine for ``url``; connects lazily, on first use.

    Any SQLite URL (``sqlite://``, ``sqlite+aiosqlite://``, ...) gets the inline
    engine over the standard library's driver, with one connection whatever
    ``pool_size`` says. Several processes on one SQLite file are discouraged:
    each write of one waits for the others' with its event loop blocked.
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
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=280,  # below MariaDB's wait_timeout in any sane setup
        pool_timeout=5,
        isolation_level="READ COMMITTED",  # fewer gap locks on the hot view upserts
    )


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

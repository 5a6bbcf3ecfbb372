"""SQLite run inline on the event loop, behind the slice of AsyncEngine the adapters use.

A SQLite statement costs 10-20 µs in SQLite's C code; sending it to aiosqlite's
worker thread and back cost about 600 µs of CPU (futex and epoll wake-ups), so
the embedded default spent its time on hand-offs, not queries. Here every
statement runs synchronously on the loop's thread, while the adapters keep
their ``async with engine.begin() as conn: await conn.execute(...)`` code.

The coroutines below never suspend (nothing inside them awaits), so a
transaction runs from ``begin`` to commit without another coroutine getting a
turn: every transaction of this process is serialised for free, and a lock
wait can only come from another process (see ``engine.BUSY_TIMEOUT_MS``).

Connections: one. Since no two blocks can interleave, a second connection
would never be used at the same time as the first; one SQLAlchemy
``Connection`` over a ``StaticPool`` (``check_same_thread=False``) is kept open
between blocks. Measured per primary-key read through the admin repository:
62 µs of CPU kept open, 78 µs with a ``StaticPool`` check-out per block, 79 µs
with a ``QueuePool`` of five, 440-510 µs with aiosqlite. After any error the
``Connection`` is closed (the pool rolls its DBAPI connection back) and a fresh
one is taken on next use, so no failed state carries over. A coroutine that
does suspend inside a block, letting another block start, gets a
``RuntimeError`` instead of sharing a half-done transaction.

What blocks the loop, and for how long: every statement, for as long as it
takes. Keyed reads and a view's four upserts take tens of µs in SQLite (the
rest of their cost is SQLAlchemy building statements, which was on the loop
before too); a commit in WAL mode with ``synchronous=NORMAL`` does not fsync,
the checkpoint every 1,000 WAL pages does (a few ms, 19 ms at worst over 30,000
views here); deleting a media item deletes its view rows in its transaction
(about 2 ms per 1,000 views: 2 s for a million); a write waiting for another
process's lock waits up to the busy timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar, TypeVarTuple, overload

from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy
from sqlalchemy.engine.interfaces import CoreExecuteOptionsParameter
from sqlalchemy.exc import ResourceClosedError
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")
Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]]


class InlineConnection:
    """One block's view of the connection: ``execute``, ``run_sync``, ``commit``, ``rollback``.

    Like an ``AsyncConnection`` after ``async with``, it refuses to work once its
    block has ended, so no statement runs outside a block on the shared connection.
    """

    __slots__ = ("_ended", "sync_connection")

    def __init__(self, sync_connection: Connection) -> None:
        self.sync_connection = sync_connection
        self._ended = False

    @property
    def dialect(self) -> Dialect:
        return self.sync_connection.dialect

    @overload
    async def execute(
        self,
        statement: TypedReturnsRows[*_Ts],
        parameters: Parameters | None = None,
        *,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[*_Ts]: ...

    @overload
    async def execute(
        self,
        statement: Executable,
        parameters: Parameters | None = None,
        *,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[*tuple[Any, ...]]: ...

    async def execute(
        self,
        statement: Executable,
        parameters: Parameters | None = None,
        *,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[*tuple[Any, ...]]:
        """Run ``statement`` now; rows are fetched at once, as AsyncConnection buffers them.

        Buffering also finishes the SQLite statement before the block ends, so
        no half-read cursor keeps a read snapshot open on the shared connection.
        """
        result = self._live().execute(statement, parameters, execution_options=execution_options)
        if result.returns_rows and result.cursor is not None:
            result.cursor_strategy = FullyBufferedCursorFetchStrategy(result.cursor)
        return result

    async def run_sync(
        self, fn: Callable[Concatenate[Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Call ``fn(sync_connection, ...)`` right here (``metadata.create_all``, Alembic)."""
        return fn(self._live(), *args, **kwargs)

    async def commit(self) -> None:
        self._live().commit()

    async def rollback(self) -> None:
        self._live().rollback()

    def end(self) -> None:
        """Refuse all further use; called when the block ends."""
        self._ended = True

    def _live(self) -> Connection:
        if self._ended:
            raise ResourceClosedError("this connection's `async with` block has ended")
        return self.sync_connection


class _Block:
    """``async with`` for ``begin()`` (commit at the end) and ``connect()`` (roll back)."""

    __slots__ = ("_commit", "_engine")

    def __init__(self, engine: InlineSqliteEngine, *, commit: bool) -> None:
        self._engine = engine
        self._commit = commit

    async def __aenter__(self) -> InlineConnection:
        return self._engine.enter_block(transaction=self._commit)

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._engine.leave_block(
            commit=self._commit and exc_type is None, failed=exc_type is not None
        )


class InlineSqliteEngine:
    """A sync SQLite engine dressed as the part of ``AsyncEngine`` the adapters call."""

    def __init__(self, sync_engine: Engine) -> None:
        self.sync_engine = sync_engine
        self._connection: Connection | None = None  # kept open between blocks
        self._block: InlineConnection | None = None  # the block running now, if any

    @property
    def dialect(self) -> Dialect:
        return self.sync_engine.dialect

    def begin(self) -> _Block:
        """A block in one transaction: committed at its end, rolled back if it raises."""
        return _Block(self, commit=True)

    def connect(self) -> _Block:
        """A block that commits only when told to; whatever is left is rolled back."""
        return _Block(self, commit=False)

    async def dispose(self) -> None:
        """Close the connection; the next block opens a new one."""
        self._discard()
        self.sync_engine.dispose()

    def enter_block(self, *, transaction: bool) -> InlineConnection:
        """Start a block, in a transaction or not; refused while another block runs."""
        if self._block is not None:
            raise RuntimeError(
                "the inline SQLite connection is in use: a coroutine awaited something "
                "that suspends inside `async with engine.begin()/connect()`"
            )
        connection = self._connection
        if connection is None:
            connection = self._connection = self.sync_engine.connect()
        if transaction:
            connection.begin()
        self._block = InlineConnection(connection)
        return self._block

    def leave_block(self, *, commit: bool, failed: bool) -> None:
        """End the block: commit, or roll back; after a failure, start afresh next time."""
        block, self._block = self._block, None
        if block is not None:
            block.end()
        connection = self._connection
        if connection is None:  # disposed inside the block
            return
        if failed:
            self._discard()  # closing rolls back, and the pool resets the DBAPI connection
            return
        try:
            if commit:
                connection.commit()
            else:
                connection.rollback()
        except BaseException:
            self._discard()
            raise

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

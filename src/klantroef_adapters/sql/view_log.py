"""The view log and its aggregates in SQL: views that arrive together share one transaction."""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date
from itertools import groupby
from operator import itemgetter
from typing import TypeAlias, TypeVar

import msgspec
from sqlalchemy import Select, Text, and_, bindparam, func, insert, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.expression import ColumnElement, Executable

from klantroef_adapters.sql.engine import SqlEngine, database_errors, to_db_time
from klantroef_adapters.sql.media_repository import is_storable_id
from klantroef_adapters.sql.tables import media, view_clients, view_days, view_totals, views
from klantroef_core.domain.views import Analytics, DayRange, View
from klantroef_core.errors import Unavailable, UnknownMedia

_log = logging.getLogger(__name__)

ATTEMPTS = 5
_T = TypeVar("_T")
_MYSQL_LOCK_ERRORS = frozenset({1205, 1213})  # lock wait timeout, deadlock

# The statements are built once and run with these parameters: building and
# cache-keying a statement per view cost about three times the rest of a view's
# CPU. The names differ from the column names, which insert() reserves.
_MEDIA = bindparam("the_media", type_=views.c.media_id.type)
_CLIENT = bindparam("the_client", type_=views.c.client.type)
_VIEWED_AT = bindparam("the_time", type_=views.c.viewed_at.type)
_DAY = bindparam("the_day", type_=view_days.c.day.type)
_NEW_CLIENTS = bindparam("new_clients", type_=view_totals.c.unique_clients.type)
_VIEWS = bindparam("the_views", type_=view_days.c.views.type)

# A report: the totals, outer-joined to the days in range (None = open end).
_ReportQuery: TypeAlias = Select[int, int, date | None, int | None]
# The same as one row: the totals and the days as a JSON object.
_SummaryQuery: TypeAlias = Select[int, int, str | None]


def _is_lock_conflict(exc: DBAPIError) -> bool:
    """Whether the transaction lost a lock race and may simply be run again."""
    args = getattr(exc.orig, "args", ())
    if args and args[0] in _MYSQL_LOCK_ERRORS:
        return True
    return "database is locked" in str(exc.orig) or "database table is locked" in str(exc.orig)


async def run_with_retries(transaction: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``transaction``, again after a short jittered pause if it lost a lock race;
    return what its successful run returned.

    Called inside ``database_errors()``, so only the last failure becomes
    :class:`~klantroef_core.errors.Unavailable`.
    """
    for attempt in range(ATTEMPTS):
        try:
            return await transaction()
        except DBAPIError as exc:
            if attempt == ATTEMPTS - 1 or not _is_lock_conflict(exc):
                raise
            _log.info("retrying a transaction that lost a lock race: %s", exc.orig)
            # Jitter spreads retries apart; it protects nothing secret.
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311
    raise AssertionError("unreachable: the last attempt returns or raises")


BATCH_LIMIT = 256
"""Views one transaction holds at most; more wait for the next."""
QUEUE_LIMIT = 8192
"""Views a process lets wait for the writer; beyond that a view is refused (503) at once."""


class SqlViewLog:
    """The log row plus three aggregates (per day, per client, totals), kept in step.

    Views are written by group commit: ``record`` queues its view and waits, and
    one writer takes everything queued so far into one transaction of four
    statements, whatever the number of views: a multi-row insert into the log,
    an ``INSERT IGNORE`` of the clients per item (its row count is how many are
    new), and multi-row upserts that add each day's and each item's counts in
    place. ``record`` returns only after the commit that holds its view, so a
    view acknowledged is durable and counted once, and any report read after it
    includes it. Views that arrive while a transaction is in flight go into the
    next one: under load a transaction carries many views, alone a view costs
    what it did on its own. If a batch fails on an unknown item (the media
    foreign key), its views are written one by one, so only that view fails.
    ``report`` is one query over the aggregates. Every statement is built once,
    for this engine's dialect, with bound parameters.
    """

    def __init__(
        self, engine: SqlEngine, *, batch_limit: int = BATCH_LIMIT, queue_limit: int = QUEUE_LIMIT
    ) -> None:
        if batch_limit < 1 or queue_limit < batch_limit:
            raise ValueError("a batch holds at least one view, and the queue at least a batch")
        self._engine = engine
        self._batch_limit = batch_limit
        self._queue_limit = queue_limit
        sqlite = engine.dialect.name == "sqlite"
        self._insert_view = insert(views).values(
            media_id=_MEDIA, client=_CLIENT, viewed_at=_VIEWED_AT
        )
        self._add_client = _add_client(sqlite=sqlite)
        self._count_day = _count_day(sqlite=sqlite)
        self._count_total = _count_total(sqlite=sqlite)
        self._total = (
            select(media.c.id, view_totals.c.total_views)
            .select_from(media.outerjoin(view_totals, view_totals.c.media_id == media.c.id))
            .where(media.c.id == _MEDIA)
        )
        self._reports = {
            (has_first, has_last): _report_query(has_first=has_first, has_last=has_last)
            for has_first in (False, True)
            for has_last in (False, True)
        }
        self._summaries = {
            ends: _summary_query(has_first=ends[0], has_last=ends[1], sqlite=sqlite)
            for ends in self._reports
        }
        self._queue: list[tuple[View, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = Counter[int]()
        """How many transactions carried how many views (for the benchmarks)."""

    async def record(self, view: View) -> None:
        if not is_storable_id(view.media_id):
            raise UnknownMedia(view.media_id)
        if len(self._queue) >= self._queue_limit:  # the database is not keeping up (or gone)
            raise Unavailable("too many views are waiting for the database")
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()
        self._queue.append((view, written))
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write_queued())
        await written

    async def report(self, media_id: str, days: DayRange) -> Analytics:
        if not is_storable_id(media_id):
            return Analytics(media_id, total_views=0, unique_ips=0, views_per_day=())
        has_ends = days.first is not None, days.last is not None
        params = {"the_media": media_id, "first_day": days.first, "last_day": days.last}
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(self._summaries[has_ends], params)).first()
            if row is None:
                return Analytics(media_id, total_views=0, unique_ips=0, views_per_day=())
            per_day = _decoded_days(row.days)
            if per_day is None:  # the server cut the aggregate short: read the rows instead
                rows = (await conn.execute(self._reports[has_ends], params)).all()
                per_day = tuple(
                    (r.day, int(r.views)) for r in rows if r.day is not None and r.views is not None
                )
        return Analytics(
            media_id,
            total_views=int(row.total_views),
            unique_ips=int(row.unique_clients),
            views_per_day=per_day,
        )

    async def total_views(self, media_id: str) -> int | None:
        """How many views of the item are logged, or None when there is no such item.

        One primary-key read (the media row and its totals, outer-joined): what a
        shared analytics cache checks each hit against. The total is bumped in
        each view's own transaction, so it moves with every recorded view.
        """
        if not is_storable_id(media_id):
            return None
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(self._total, {"the_media": media_id})).first()
        if row is None or row.id != media_id:  # MySQL compares ids case-insensitively
            return None
        return int(row.total_views or 0)

    async def _write_queued(self) -> None:
        """Write what is queued, batch after batch, until the queue is empty.

        When a batch finds the database unavailable (down, frozen past the
        timeout), every view queued by then fails with it: each would wait a
        whole timeout in turn otherwise, and a view's wait stays bounded by one.
        """
        loop = asyncio.get_running_loop()
        while self._queue:
            mine = [queued for queued in self._queue if queued[1].get_loop() is loop]
            if len(mine) < len(self._queue):  # views of a loop that is gone: nobody waits
                self._queue = mine
                continue
            batch = self._queue[: self._batch_limit]
            del self._queue[: self._batch_limit]
            try:
                failure = await self._write(batch)
            except BaseException as exc:  # cancelled (the loop is closing): nobody is left hanging
                _settle(batch, Unavailable("the view log is shutting down"), cause=exc)
                raise
            if isinstance(failure, Unavailable):
                waiting, self._queue = self._queue, []
                _settle(waiting, failure)

    async def _write(self, batch: list[tuple[View, asyncio.Future[None]]]) -> Exception | None:
        """One transaction for ``batch``; each waiter learns the outcome, which is also
        returned (None: written). Never raises an ``Exception``."""
        try:
            async with database_errors():
                await run_with_retries(lambda: self._record_batch([view for view, _ in batch]))
        except IntegrityError as exc:  # the media foreign key
            if len(batch) > 1:
                # Find the view of an unknown item; write the others.
                for n, one in enumerate(batch):
                    if isinstance(failure := await self._write([one]), Unavailable):
                        _settle(batch[n + 1 :], failure)
                        return failure
                return None
            _settle(batch, UnknownMedia(batch[0][0].media_id), cause=exc)
            return None
        except Exception as exc:
            _settle(batch, exc)
            return exc
        self.batches[len(batch)] += 1
        _settle(batch, None)
        return None

    async def _record_batch(self, batch: list[View]) -> None:
        # Sorted by item and client: every process locks the rows in one order.
        rows = sorted(
            (
                {
                    "the_media": view.media_id,
                    "the_client": view.client,
                    "the_time": to_db_time(view.viewed_at),
                    "the_day": view.viewed_at.astimezone(UTC).date(),
                }
                for view in batch
            ),
            key=itemgetter("the_media", "the_client"),
        )
        per_day = Counter((row["the_media"], row["the_day"]) for row in rows)
        per_media = Counter(row["the_media"] for row in rows)
        async with self._engine.begin() as conn:
            await conn.execute(self._insert_view, rows)
            new_clients = {
                media_id: max((await conn.execute(self._add_client, list(clients))).rowcount, 0)
                for media_id, clients in groupby(rows, key=itemgetter("the_media"))
            }
            await conn.execute(
                self._count_day,
                [
                    {"the_media": media_id, "the_day": day, "the_views": count}
                    for (media_id, day), count in sorted(per_day.items())
                ],
            )
            await conn.execute(
                self._count_total,
                [
                    {
                        "the_media": media_id,
                        "the_views": count,
                        "new_clients": new_clients[media_id],
                    }
                    for media_id, count in sorted(per_media.items())
                ],
            )


def _settle(
    batch: list[tuple[View, asyncio.Future[None]]],
    error: BaseException | None,
    *,
    cause: BaseException | None = None,
) -> None:
    for _, written in batch:
        if written.done():  # its request was cancelled; the view is written all the same
            continue
        if error is None:
            written.set_result(None)
        else:
            own = copy.copy(error)  # one exception per waiter: each raise adds its traceback
            own.__cause__ = cause if cause is not None else error.__cause__
            written.set_exception(own)


def _add_client(*, sqlite: bool) -> Executable:
    values = {"media_id": _MEDIA, "client": _CLIENT}
    if sqlite:
        return sqlite_insert(view_clients).values(values).on_conflict_do_nothing()
    # INSERT IGNORE: its row count is 0 for a known client even with
    # CLIENT_FOUND_ROWS, which ON DUPLICATE KEY UPDATE cannot promise.
    return mysql_insert(view_clients).values(values).prefix_with("IGNORE")


def _count_day(*, sqlite: bool) -> Executable:
    """Add each row's ``views`` to its (item, day) count; rows of a batch are distinct."""
    values = {"media_id": _MEDIA, "day": _DAY, "views": _VIEWS}
    if sqlite:
        upsert = sqlite_insert(view_days).values(values)
        return upsert.on_conflict_do_update(
            index_elements=[view_days.c.media_id, view_days.c.day],
            set_={"views": view_days.c.views + upsert.excluded.views},
        )
    bump = mysql_insert(view_days).values(values)
    return bump.on_duplicate_key_update(views=view_days.c.views + bump.inserted.views)


def _count_total(*, sqlite: bool) -> Executable:
    """Add each row's views and new clients to its item's totals."""
    values = {"media_id": _MEDIA, "total_views": _VIEWS, "unique_clients": _NEW_CLIENTS}
    if sqlite:
        upsert = sqlite_insert(view_totals).values(values)
        new = upsert.excluded
        return upsert.on_conflict_do_update(
            index_elements=[view_totals.c.media_id],
            set_={
                "total_views": view_totals.c.total_views + new.total_views,
                "unique_clients": view_totals.c.unique_clients + new.unique_clients,
            },
        )
    bump = mysql_insert(view_totals).values(values)
    return bump.on_duplicate_key_update(
        total_views=view_totals.c.total_views + bump.inserted.total_views,
        unique_clients=view_totals.c.unique_clients + bump.inserted.unique_clients,
    )


def _days_in_range(*, has_first: bool, has_last: bool) -> ColumnElement[bool]:
    """The item's day rows within ``first_day``/``last_day`` (an open end: no bound)."""
    in_range = [view_days.c.media_id == view_totals.c.media_id]
    if has_first:
        in_range.append(view_days.c.day >= bindparam("first_day", type_=view_days.c.day.type))
    if has_last:
        in_range.append(view_days.c.day <= bindparam("last_day", type_=view_days.c.day.type))
    return and_(*in_range)


_DAYS = msgspec.json.Decoder(dict[str, int])


def _decoded_days(raw: object) -> tuple[tuple[date, int], ...] | None:
    """The per-day counts from the aggregate's JSON object, ascending; None if it was
    cut short (MariaDB's aggregate is bounded by ``group_concat_max_len``)."""
    if raw is None:
        return ()
    try:
        counts = _DAYS.decode(raw if isinstance(raw, bytes | str) else str(raw))
        return tuple(sorted((date.fromisoformat(day), views) for day, views in counts.items()))
    except (msgspec.DecodeError, ValueError):
        return None


def _summary_query(*, has_first: bool, has_last: bool, sqlite: bool) -> _SummaryQuery:
    """The totals and, in the same row and snapshot, the day counts as one JSON object.

    365 day rows cost more to parse one by one (drivers, SQLAlchemy) than the query
    costs the server; one JSON string decodes in C.
    """
    aggregate = func.json_group_object if sqlite else func.json_objectagg
    days = (
        select(aggregate(view_days.c.day, view_days.c.views, type_=Text))
        .where(_days_in_range(has_first=has_first, has_last=has_last))
        .correlate(view_totals)
        .scalar_subquery()
    )
    return select(
        view_totals.c.total_views, view_totals.c.unique_clients, days.label("days")
    ).where(view_totals.c.media_id == _MEDIA)


def _report_query(*, has_first: bool, has_last: bool) -> _ReportQuery:
    """One statement, so the totals and the days come from one snapshot.

    One variant per open or closed end keeps each plan free of ``IS NULL`` tests.
    """
    return (
        select(
            view_totals.c.total_views,
            view_totals.c.unique_clients,
            view_days.c.day,
            view_days.c.views,
        )
        .select_from(
            view_totals.outerjoin(view_days, _days_in_range(has_first=has_first, has_last=has_last))
        )
        .where(view_totals.c.media_id == _MEDIA)
        .order_by(view_days.c.day)
    )

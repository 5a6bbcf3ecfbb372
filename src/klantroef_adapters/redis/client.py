"""Connecting to Redis, and turning its failures into the core's ``Unavailable``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from klantroef_core.errors import Unavailable

SOCKET_TIMEOUT = 2.0
"""Seconds to connect, and to wait for each answer (``KLANTROEF_REDIS_TIMEOUT``)."""
HEALTH_CHECK_INTERVAL = 15


_Queued = tuple[tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]


class PipeliningRedis(Redis):
    """A client whose commands, issued in the same turn of the event loop, travel
    to Redis together: one pipeline (not a transaction), one write and one read
    for all of them, instead of one connection, write and read each.

    Requests served together by one worker (views' rate limits, bearer checks,
    cache lookups) each wait for their own answer, as before; each command keeps
    its own reply or error (a script missing from Redis's cache fails alone, and
    is loaded and run again by the caller as usual). A command whose caller was
    cancelled before its turn went out is not sent. A lone command takes the
    usual path (one retry on a fresh connection); a turn of several is never
    re-sent (:meth:`_pipelined`). Pipelines and pub/sub made from this client are redis-py's own.
    Nothing is reordered: the commands of one task are issued one after another
    anyway, and Redis runs a pipeline's commands in order.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn: list[_Queued] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()
        if self._turn is None:
            self._turn = []
            loop.call_soon(self._send_turn)  # after every task this turn has resumed
        self._turn.append((args, options, answer))
        return await answer

    def _send_turn(self) -> None:
        commands, self._turn = self._turn or [], None
        task = asyncio.get_running_loop().create_task(self._send(commands))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, commands: list[_Queued]) -> None:
        commands = [queued for queued in commands if not queued[2].done()]  # cancelled: not sent
        if not commands:
            return
        try:
            if len(commands) == 1:
                args, options, _ = commands[0]
                replies: list[Any] = [await super().execute_command(*args, **options)]  # type: ignore[no-untyped-call]
            else:
                replies = await self._pipelined(commands)
        except BaseException as exc:  # every waiter hears of it
            for _, _, answer in commands:
                if not answer.done():
                    answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, answer), reply in zip(commands, replies, strict=True):
            if answer.done():
                continue  # its caller gave up (cancelled)
            if isinstance(reply, Exception):
                answer.set_exception(reply)
            else:
                answer.set_result(reply)

    async def _pipelined(self, commands: list[_Queued]) -> list[Any]:
        """Send ``commands`` in one write and read their replies in order, once.

        Not redis-py's ``Pipeline``: that re-sends every command after a broken
        connection, replies already read included, so a rate-limit script could
        count one hit twice. Here a broken connection fails every command of the
        turn (unavailable: the caller decides), and is dropped.
        """
        pool = self.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await conn.send_packed_command(conn.pack_commands(args for args, _, _ in commands))
            replies: list[Any] = []
            for args, options, _ in commands:
                try:
                    replies.append(await self.parse_response(conn, args[0], **options))
                except ResponseError as exc:  # this command's own error; the next reply follows
                    replies.append(exc)
        except BaseException:
            await conn.disconnect()  # replies may be left unread on it
            raise
        finally:
            await pool.release(conn)
        return replies


def create_redis(url: str, *, timeout: float = SOCKET_TIMEOUT) -> Redis:
    """A client for ``url`` that gives up quickly: a command waits at most ``timeout``
    seconds for a connection and as long for its answer, so the caller soon learns
    that Redis is gone and fails open or closed.

    A broken connection (Redis restarted, the socket reset) is retried once on a
    fresh one, after at most 0.2 s; a timeout is not retried: a server that did
    not answer in time will not answer the retry either, and the wait would
    double. Connects lazily (nothing happens until the first command); raw bytes
    in and out. Commands issued together are pipelined (:class:`PipeliningRedis`).
    """
    return PipeliningRedis.from_url(
        url,
        decode_responses=False,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        retry=Retry(
            ExponentialBackoff(cap=0.2, base=0.02),
            retries=1,
            supported_errors=(RedisConnectionError,),
        ),
    )


@contextmanager
def unavailable_on_failure(what: str) -> Iterator[None]:
    """Re-raise any Redis, socket or timeout failure inside the block as ``Unavailable``."""
    try:
        yield
    except (RedisError, OSError) as exc:  # OSError covers ConnectionError and TimeoutError
        raise Unavailable(f"{what}: Redis is unreachable ({type(exc).__name__})") from exc

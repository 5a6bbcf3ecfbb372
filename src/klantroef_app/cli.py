"""The ``klantroef`` command: ``serve`` and ``migrate``; the others register here (admin_cli,
client_cli, media_commands)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from klantroef_adapters.migrate import upgrade
from klantroef_adapters.sql.engine import is_sqlite
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_adapters.storage.partial_uploads import LocalPartialUploads
from klantroef_app import admin_cli, client_cli, media_commands
from klantroef_app.container import (
    bootstrap,
    close,
    make_s3_storage,
    make_signer,
    partial_upload_dir,
)
from klantroef_app.logs import configure_logging
from klantroef_app.metrics import MULTIPROC_ENV
from klantroef_app.secrets_file import load_secrets
from klantroef_app.settings import Settings, SettingsError
from klantroef_core.errors import Unavailable

APP_FACTORY = "klantroef_app.asgi:build_served_app"
KILL_MARGIN = 10
"""Seconds past the grace period after which a worker that still has not stopped is killed."""
GRANIAN_BUFFER = 128 * 1024
"""granian's per-connection buffer (HTTP/1 read and write, HTTP/2 send): also the longest
request head it reads (a larger one is answered 431)."""
logger = logging.getLogger("klantroef")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = argparse.ArgumentParser(prog="klantroef", description="Klantroef media backend")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default=os.environ.get("KLANTROEF_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("KLANTROEF_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--server", choices=("granian", "uvicorn"), default="granian")
    serve.add_argument("--no-migrate", action="store_true", help="do not touch the schema")

    commands.add_parser("migrate", help="apply the database migrations and exit")
    admin_cli.register(commands)  # create-admin, rotate-keys
    client_cli.register(commands)  # login, logout, media ...
    media_commands.register(commands)  # media probe (beside the client's media ...)

    health = commands.add_parser(
        "health", help="exit 0 if the server on this host answers /health/ready (a HEALTHCHECK)"
    )
    health.add_argument(
        "--url",
        default=f"http://127.0.0.1:{os.environ.get('KLANTROEF_PORT', '8000')}/health/ready",
    )
    health.set_defaults(run=lambda args: _health(args.url))

    args = parser.parse_args(argv)
    if hasattr(args, "run"):  # the commands registered above run themselves
        return int(args.run(args))
    try:
        settings = Settings.from_env()
        log_config = configure_logging(settings.log_format)
        if args.command == "migrate":
            _migrate(settings)
            return 0
        return _serve(settings, args, log_config)
    except (SettingsError, StartupError) as exc:
        print(f"klantroef: {exc}", file=sys.stderr)
        return 2


def _migrate(settings: Settings) -> None:
    if settings.in_memory:
        logger.info("nothing to migrate: every store is in memory")
        return
    logger.info("migrating %s", _safe_url(settings.database_url))
    upgrade(settings.database_url)


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse ``workers`` processes where state they must share would stay per process.

    MySQL/MariaDB, with or without Redis, shares everything (revocations, rate
    limits, analytics); SQLite without Redis keeps limits, the analytics cache
    and a mirror of revocations in the one process; ``memory://`` keeps everything there.
    """
    if workers <= 1:
        return
    if settings.in_memory:
        raise SettingsError(
            "KLANTROEF_DATABASE_URL=memory:// keeps state in one process: one worker"
        )
    if not is_sqlite(settings.database_url):
        return
    if settings.redis_url is None:
        raise SettingsError(
            "more than one worker on SQLite needs KLANTROEF_REDIS_URL (or use MySQL/MariaDB): "
            "rate limits, the analytics cache and revocations must be shared between processes"
        )
    logger.warning(
        "several workers on one SQLite file: each worker's writes wait for the others' "
        "locks with its event loop blocked (up to 5 s); prefer MySQL/MariaDB"
    )


class StartupError(Exception):
    """Something ``serve`` needs is not there; the message says what, on one line."""


def prepare_bucket(settings: Settings) -> None:
    """Make sure the media bucket exists (create it if missing), or raise StartupError."""
    if settings.s3 is None:
        return
    storage = make_s3_storage(settings)

    async def ensure() -> None:
        try:
            await storage.ensure_bucket(create=True)
        finally:
            await storage.close()

    try:
        asyncio.run(ensure())
    except Unavailable as exc:
        reason = " ".join(str(exc).split())  # one line, whatever the store said
        raise StartupError(
            f"the S3 bucket {settings.s3.bucket!r} cannot be used: {reason}"
        ) from exc
    where = f" at {settings.s3.endpoint}" if settings.s3.endpoint else ""
    logger.info("media bytes live in the S3 bucket %r%s", settings.s3.bucket, where)


@contextmanager
def metrics_folder() -> Iterator[str]:
    """A fresh folder for the workers' metric files, named in ``PROMETHEUS_MULTIPROC_DIR``.

    Fresh for each start, so no file of an earlier run (or of its dead workers)
    is counted; removed when the server stops.
    """
    folder = tempfile.mkdtemp(prefix="klantroef-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(folder, ignore_errors=True)


def _sweep_uploads(settings: Settings) -> None:
    """Remove expired resumable uploads (rows and bytes), and upload files idle past the expiry."""

    async def sweep() -> tuple[int, int]:
        container = bootstrap(settings)
        swept = 0
        try:
            sweeper = container.sweep_uploads()
            while batch := await sweeper(500):
                swept += batch
        finally:
            await close(container)
        idle = LocalPartialUploads(partial_upload_dir(settings))
        return swept, await idle.remove_idle(settings.upload_expiry)

    try:
        swept, idle = asyncio.run(sweep())
    except Exception:  # e.g. --no-migrate before the schema has the table: the next start
        logger.warning("could not sweep expired uploads", exc_info=True)
        return
    if swept or idle:
        logger.info("removed %d expired upload(s) and %d idle upload file(s)", swept, idle)


def _serve(settings: Settings, args: argparse.Namespace, log_config: dict[str, Any]) -> int:
    check_workers(settings, args.workers)
    try:  # create the secrets file once, before workers start, and refuse bad keys now
        make_signer(settings, load_secrets(settings))
    except ValueError as exc:  # a key too short, or the access and stream keys the same
        raise SettingsError(f"the signing keys cannot be used: {exc}") from exc
    if not settings.in_memory:
        if settings.s3 is None:
            settings.media_dir.mkdir(parents=True, exist_ok=True)
            removed = asyncio.run(LocalMediaStorage(settings.media_dir).remove_stale_partials())
            if removed:
                logger.info("removed %d partial upload(s) left by an earlier crash", removed)
        else:
            prepare_bucket(settings)
        if not args.no_migrate:
            _migrate(settings)
        _sweep_uploads(settings)
    with metrics_folder():
        _run_server(settings, args, log_config)
    return 0


def _run_server(settings: Settings, args: argparse.Namespace, log_config: dict[str, Any]) -> None:
    if args.server == "uvicorn":
        import uvicorn

        # uvicorn re-raises the stop signal once it has shut down, which would kill the
        # process before the last log records are written: a requested stop exits cleanly.
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, _stopped)

        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            log_config=log_config,
            access_log=False,
            timeout_graceful_shutdown=settings.shutdown_grace + KILL_MARGIN,
            server_header=False,  # the app names itself, without a version
        )
        return
    from granian import Granian
    from granian.constants import Interfaces, TaskImpl
    from granian.http import HTTP1Settings, HTTP2Settings

    Granian(
        APP_FACTORY,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        factory=True,
        log_dictconfig=log_config,
        task_impl=TaskImpl.asyncio,  # real asyncio tasks: the grace period cancels them
        workers_kill_timeout=settings.shutdown_grace + KILL_MARGIN,
        # What a connection may hold in the server's own buffer: with granian's default
        # (400 KiB) a hundred slow readers pinned ~45 MB more (ARCHITECTURE.md, backpressure).
        http1_settings=HTTP1Settings(max_buffer_size=GRANIAN_BUFFER),
        http2_settings=HTTP2Settings(max_send_buffer_size=GRANIAN_BUFFER),
    ).serve()


def _stopped(number: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _health(url: str, timeout: float = 4.0) -> int:
    """0 when ``url`` answers 200, else 1; what it said goes to standard output."""
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        print(f"klantroef: not an http(s) URL: {url}", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - checked above
            print(reply.read(4096).decode(errors="replace"))
            return 0 if reply.status == 200 else 1
    except urllib.error.HTTPError as exc:  # 503: a backing service does not answer
        print(exc.read(4096).decode(errors="replace"))
        return 1
    except OSError as exc:
        print(f"klantroef: {url} does not answer: {exc}", file=sys.stderr)
        return 1


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())

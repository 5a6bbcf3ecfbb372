"""The deployments under test: the embedded default (SQLite, in-process state),
MariaDB + Redis, and SQLite with media on S3 (a private SeaweedFS the harness starts). Each gets a clean database, and bulk rows can be written straight
into its tables when HTTP would take too long (a million views)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pymysql  # aiomysql's own driver: a dependency of the project already
import redis

# Overridable, so runs side by side (or beside other users of the servers) keep apart.
MARIADB_DB = os.environ.get("BENCH_MARIADB_DB", "klantroef_bench")
MARIADB_URL = f"mysql+asyncmy://root@127.0.0.1:3306/{MARIADB_DB}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
NAMES = ("sqlite", "mariadb-redis", "sqlite-s3")
BOTH = ("sqlite", "mariadb-redis")  # what "--backend both" runs


class BackendUnavailable(RuntimeError):
    """The backing services of a deployment do not answer on this machine."""


@dataclass(frozen=True, slots=True)
class Backend:
    """One deployment: its name and where its data lives."""

    name: str
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)  # the S3 settings, on S3

    @property
    def sqlite_file(self) -> Path:
        """The embedded database file (SQLite backend only)."""
        return self.data_dir / "klantroef.db"

    def env(self) -> dict[str, str]:
        """The ``KLANTROEF_*`` variables that select this deployment."""
        env = {"KLANTROEF_DATA_DIR": str(self.data_dir)}
        if self.name == "mariadb-redis":
            env |= {"KLANTROEF_DATABASE_URL": MARIADB_URL, "KLANTROEF_REDIS_URL": REDIS_URL}
        return env | self.extra_env

    def prepare(self) -> None:
        """Start from nothing: a new data folder; an empty database and Redis DB."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.name != "mariadb-redis":
            return
        try:
            conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3)
            with conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {MARIADB_DB}")
                cur.execute(f"CREATE DATABASE {MARIADB_DB} CHARACTER SET utf8mb4")
            client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
            client.flushdb()
            client.close()
        except (OSError, pymysql.err.Error, redis.RedisError) as exc:
            raise BackendUnavailable(f"MariaDB or Redis did not answer: {exc}") from exc

    def view_rows(self, media_id: str) -> int:
        """How many views of ``media_id`` the ``views`` table holds, read straight from
        the database (a second reader: SQLite in WAL mode, MariaDB over its socket)."""
        if self.name == "mariadb-redis":
            conn = pymysql.connect(host="127.0.0.1", user="root", database=MARIADB_DB)
            with conn, conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM views WHERE media_id = %s", (media_id,))
                row = cur.fetchone()
            return int(row[0]) if row else 0
        lite = sqlite3.connect(self.sqlite_file, timeout=30)
        try:
            (count,) = lite.execute(
                "SELECT COUNT(*) FROM views WHERE media_id = ?", (media_id,)
            ).fetchone()
        finally:
            lite.close()
        return int(count)

    def seed_views(self, media_id: str, views: int, clients: int, days: int = 365) -> None:
        """Write ``views`` views of ``media_id`` over the last ``days`` UTC days, from
        ``clients`` distinct addresses, with the aggregates derived from those rows
        (so they are exact by construction), in a handful of set-based statements."""
        first = datetime.now(UTC).date() - timedelta(days=days - 1)
        if self.name == "mariadb-redis":
            _seed_mariadb(media_id, views, clients, days, first)
        else:
            _seed_sqlite(self.sqlite_file, media_id, views, clients, days, first)


def _client_expr(i: str, clients: int, concat: str) -> str:
    c = f"({i} % {clients})"
    parts = ["'10.'", f"({c} / 65536 % 256)", "'.'", f"({c} / 256 % 256)", "'.'", f"({c} % 256)"]
    return concat.join(parts) if concat else "CONCAT(" + ", ".join(parts) + ")"


def _aggregates(media_id: str, day_of: str) -> list[str]:
    m = f"'{media_id}'"
    return [
        f"INSERT INTO view_days (media_id, day, views) SELECT media_id, {day_of}, COUNT(*) "
        f"FROM views WHERE media_id = {m} GROUP BY media_id, {day_of}",
        f"INSERT INTO view_clients (media_id, client) SELECT DISTINCT media_id, client "
        f"FROM views WHERE media_id = {m}",
        f"INSERT INTO view_totals (media_id, total_views, unique_clients) SELECT {m}, "
        f"(SELECT COUNT(*) FROM views WHERE media_id = {m}), "
        f"(SELECT COUNT(*) FROM view_clients WHERE media_id = {m})",
    ]


def _check_id(media_id: str) -> None:
    if not all(ch.isalnum() or ch == "-" for ch in media_id):  # it is spliced into SQL
        raise ValueError(f"unexpected media id {media_id!r}")


def _seed_sqlite(
    file: Path, media_id: str, views: int, clients: int, days: int, first: date
) -> None:
    _check_id(media_id)
    client = _client_expr("i", clients, " || ")
    # Stored as SQLAlchemy stores naive UTC DateTime on SQLite.
    moment = (
        f"strftime('%Y-%m-%d %H:%M:%S', '{first.isoformat()}', "
        f"'+' || (i % {days}) || ' days', '+' || (i % 86400) || ' seconds') || '.000000'"
    )
    statements = [
        f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {views}) "
        f"INSERT INTO views (media_id, client, viewed_at) "
        f"SELECT '{media_id}', {client}, {moment} FROM n",
        *_aggregates(media_id, "substr(viewed_at, 1, 10)"),
    ]
    conn = sqlite3.connect(file, timeout=30)
    try:
        with conn:
            for statement in statements:
                conn.execute(statement)
    finally:
        conn.close()


def _seed_mariadb(media_id: str, views: int, clients: int, days: int, first: date) -> None:
    _check_id(media_id)
    client = _client_expr("seq", clients, "")
    moment = (
        f"TIMESTAMP('{first.isoformat()}') + INTERVAL (seq % {days}) DAY "
        f"+ INTERVAL (seq % 86400) SECOND"
    )
    statements = [
        f"INSERT INTO views (media_id, client, viewed_at) "
        f"SELECT '{media_id}', {client}, {moment} FROM seq_0_to_{views - 1}",
        *_aggregates(media_id, "DATE(viewed_at)"),
    ]
    conn = pymysql.connect(host="127.0.0.1", user="root", database=MARIADB_DB, autocommit=False)
    with conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        conn.commit()

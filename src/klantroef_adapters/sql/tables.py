"""The schema, shared by SQLite and MySQL/MariaDB (every string has a length).

Alembic migrations under ``klantroef_adapters/migrations`` create exactly this;
a test checks that they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Naive UTC datetimes with microseconds on both engines; adapters convert at the edge.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# SQLite only auto-increments INTEGER PRIMARY KEY.
RowId = BigInteger().with_variant(Integer(), "sqlite")

# Up to 16 MiB on MySQL/MariaDB, where TEXT would stop at 64 KiB.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

ID_LENGTH = 36
CLIENT_LENGTH = 64

admins = Table(
    "admins",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

# At most one row (id = 1): inserting it in the same transaction as the first
# admin makes "sign up only while nobody has" atomic on every engine.
admin_bootstrap = Table(
    "admin_bootstrap",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", Timestamp, nullable=False, index=True),
)

# The shared sliding logs of the SQL rate limiter (``sql/rate_limiter.py``): one row
# per key, locked by each hit. ``key_hash`` is the SHA-256 of the key (so keys of
# any length fit and no address or email is stored); ``accepted`` the times of the
# accepted attempts of the last two periods, ascending, as Python float reprs
# separated by spaces; ``expires_at`` (seconds since the epoch, the callers' clock)
# when the newest is two periods old, after which the row is swept.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("accepted", LongText, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
)

media = Table(
    "media",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("type", String(8), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(128), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("uploaded_by", String(ID_LENGTH), nullable=False),
    # What probing the file found (migration 0003): null until probed, each stream's
    # columns null when the file has no such stream.
    Column("container", String(64)),
    Column("duration_seconds", Double),
    Column("bit_rate", BigInteger),
    Column("video_codec", String(64)),
    Column("video_width", Integer),
    Column("video_height", Integer),
    Column("video_frame_rate", Double),
    Column("audio_codec", String(64)),
    Column("audio_channels", Integer),
    Column("audio_sample_rate", Integer),
    Column("poster_key", String(128)),
    Column("poster_content_type", String(16)),
    Column("poster_size", BigInteger),
    Column("poster_sha256", String(64)),
    Index("ix_media_created_at_id", "created_at", "id"),
)

views = Table(
    "views",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column(
        "media_id",
        String(ID_LENGTH),
        ForeignKey("media.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("client", String(CLIENT_LENGTH), nullable=False),
    Column("viewed_at", Timestamp, nullable=False),
    Index("ix_views_media_id_viewed_at", "media_id", "viewed_at"),
)

view_days = Table(
    "view_days",
    metadata,
    Column(
        "media_id",
        String(ID_LENGTH),
        ForeignKey("media.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", Date, primary_key=True),
    Column("views", BigInteger, nullable=False),
)

view_clients = Table(
    "view_clients",
    metadata,
    Column(
        "media_id",
        String(ID_LENGTH),
        ForeignKey("media.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("client", String(CLIENT_LENGTH), primary_key=True),
)

view_totals = Table(
    "view_totals",
    metadata,
    Column(
        "media_id",
        String(ID_LENGTH),
        ForeignKey("media.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("total_views", BigInteger, nullable=False),
    Column("unique_clients", BigInteger, nullable=False),
)

# Resumable (tus) uploads in progress: ``received`` bytes of ``length`` are durable
# in the partial-upload store; ``media_id`` is set once the upload became an item.
upload_sessions = Table(
    "upload_sessions",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("owner", String(ID_LENGTH), nullable=False),
    Column("length", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),
    Column("filename", String(255), nullable=True),
    Column("title", String(200), nullable=True),
    Column("type", String(8), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False, index=True),
    Column("media_id", String(ID_LENGTH), nullable=True),
)

# Who writes to an upload whose bytes every host can reach (S3): one claim per
# upload, taken over once ``expires_at`` has passed (its holder died).
upload_leases = Table(
    "upload_leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(32), nullable=False),
    Column("expires_at", Timestamp, nullable=False, index=True),
)

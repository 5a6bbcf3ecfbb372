"""The initial schema: admins, revoked tokens, media, views and their aggregates.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _media_fk(table: str) -> sa.Column[str]:
    return sa.Column(
        "media_id",
        sa.String(36),
        sa.ForeignKey("media.id", ondelete="CASCADE", name=f"fk_{table}_media_id_media"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "admins",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admins"),
        sa.UniqueConstraint("email", name="uq_admins_email"),
    )
    op.create_table(
        "admin_bootstrap",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_bootstrap"),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_revoked_tokens"),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])
    op.create_table(
        "media",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(128), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("uploaded_by", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_media"),
        sa.UniqueConstraint("storage_key", name="uq_media_storage_key"),
    )
    op.create_index("ix_media_created_at_id", "media", ["created_at", "id"])
    op.create_table(
        "views",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        _media_fk("views"),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("viewed_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_views"),
    )
    op.create_index("ix_views_media_id_viewed_at", "views", ["media_id", "viewed_at"])
    op.create_table(
        "view_days",
        _media_fk("view_days"),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("views", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("media_id", "day", name="pk_view_days"),
    )
    op.create_table(
        "view_clients",
        _media_fk("view_clients"),
        sa.Column("client", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("media_id", "client", name="pk_view_clients"),
    )
    op.create_table(
        "view_totals",
        _media_fk("view_totals"),
        sa.Column("total_views", sa.BigInteger, nullable=False),
        sa.Column("unique_clients", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("media_id", name="pk_view_totals"),
    )


def downgrade() -> None:
    for table in ("view_totals", "view_clients", "view_days", "views", "media"):
        op.drop_table(table)
    op.drop_table("revoked_tokens")
    op.drop_table("admin_bootstrap")
    op.drop_table("admins")

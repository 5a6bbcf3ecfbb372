"""Claims on resumable uploads, so that one host at a time writes to an upload in S3.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "upload_leases",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_upload_leases"),
    )
    op.create_index("ix_upload_leases_expires_at", "upload_leases", ["expires_at"])


def downgrade() -> None:
    op.drop_table("upload_leases")

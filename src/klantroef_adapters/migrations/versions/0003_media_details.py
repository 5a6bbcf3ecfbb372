"""What probing a media file found, and its poster: nullable columns on ``media``.

Rows from before stay null until ``klantroef media probe --all`` reads their files.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAMES = (
    "container",
    "duration_seconds",
    "bit_rate",
    "video_codec",
    "video_width",
    "video_height",
    "video_frame_rate",
    "audio_codec",
    "audio_channels",
    "audio_sample_rate",
    "poster_key",
    "poster_content_type",
    "poster_size",
    "poster_sha256",
)


def _columns() -> list[sa.Column[Any]]:
    """The new columns, every one nullable: rows from before have none of it."""
    kinds: list[Any] = [
        sa.String(64),
        sa.Double(),
        sa.BigInteger(),
        sa.String(64),
        sa.Integer(),
        sa.Integer(),
        sa.Double(),
        sa.String(64),
        sa.Integer(),
        sa.Integer(),
        sa.String(128),
        sa.String(16),
        sa.BigInteger(),
        sa.String(64),
    ]
    return [sa.Column(name, kind, nullable=True) for name, kind in zip(NAMES, kinds, strict=True)]


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        for column in _columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        for name in reversed(NAMES):
            batch.drop_column(name)

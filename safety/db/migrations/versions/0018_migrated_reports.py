"""migrated_reports: what a migration (``safety import --manifest``) said of each report it
brought in (the import time, the manifest row, the original sender, the regulators a
historical case was already submitted to), issue 21

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "migrated_reports",
        sa.Column("report_id", sa.Uuid(), sa.ForeignKey("reports.id"), primary_key=True),
        sa.Column("sponsor_id", sa.Integer(), sa.ForeignKey("sponsors.id"), nullable=False,
                  index=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("original_sender", sa.String(200), nullable=True),
        sa.Column("submitted", JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("migrated_reports")

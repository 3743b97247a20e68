"""Receipts by party from intake (issue #15): the sponsor's partners and each receipt's offset

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

``sponsors.partners``: the E2B senders (N.2.r.2) acting for the sponsor (affiliate, licence
partner, vendor) whose receipt date (C.1.4/C.1.5) starts its clock (ICH E2D 4.1; GVP Module
VI.B.7); existing sponsors get none. ``case_receipts.utc_offset``: the receiver's UTC offset in
minutes, so that a receipt keeps its own calendar day (``safety.rules.day0.receipt_day``);
existing rows get null (read in the sponsor's zone, as before). ``reports.receipts``: the
receipts a report carries, as intake read them (``safety.intake.receipts``); existing reports
get none (their versions count from the version's receipt, as before).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sponsors") as batch:
        batch.add_column(sa.Column("partners", JSON, nullable=False, server_default="[]"))
    with op.batch_alter_table("case_receipts") as batch:
        batch.add_column(sa.Column("utc_offset", sa.Integer(), nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("receipts", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("receipts")
    with op.batch_alter_table("case_receipts") as batch:
        batch.drop_column("utc_offset")
    with op.batch_alter_table("sponsors") as batch:
        batch.drop_column("partners")

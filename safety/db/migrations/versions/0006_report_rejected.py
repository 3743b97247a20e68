"""reports can be rejected: an inbound E2B message that cannot be read is stored as sent with
status ``rejected`` and its reason (issue 14: nothing is lost at the door)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Only the CHECK constraint of ``reports.status`` (0003) changes: it gains ``rejected``. The
values are written out here, not imported: a migration describes the schema as it was at its
revision.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_reports_report_status"
BEFORE = ("received", "processed", "held", "failed")
AFTER = (*BEFORE, "rejected")


def _replace(values: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), f"status IN ({allowed})")


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    # A rejected report cannot be expressed before this revision: refuse rather than lose it.
    rejected = op.get_bind().execute(
        sa.text("SELECT count(*) FROM reports WHERE status = 'rejected'")).scalar_one()
    if rejected:
        raise RuntimeError(f"{rejected} report(s) with status rejected: downgrade refused")
    _replace(BEFORE)

"""migration_runs: a migration client's runs (``POST /api/v1/migrations``), which run and
submission brought each migrated report in, and the ``migration`` API client role (issue 21)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "migration_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("sponsor_id", sa.Integer(), sa.ForeignKey("sponsors.id"), nullable=False,
                  index=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("next_position", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("migrated_reports") as batch:
        batch.add_column(sa.Column("run_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("run_item", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_migrated_reports_run_id", "migration_runs", ["run_id"],
                                 ["id"])
        batch.create_index("ix_migrated_reports_run_id", ["run_id"])
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_constraint(op.f("ck_api_clients_client_role"), type_="check")
        batch.create_check_constraint(op.f("ck_api_clients_client_role"),
                                      "role IN ('site', 'partner', 'safety', 'migration')")


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_constraint(op.f("ck_api_clients_client_role"), type_="check")
        batch.create_check_constraint(op.f("ck_api_clients_client_role"),
                                      "role IN ('site', 'partner', 'safety')")
    with op.batch_alter_table("migrated_reports") as batch:
        batch.drop_index("ix_migrated_reports_run_id")
        batch.drop_constraint("fk_migrated_reports_run_id", type_="foreignkey")
        batch.drop_column("run_item")
        batch.drop_column("run_id")
    op.drop_table("migration_runs")

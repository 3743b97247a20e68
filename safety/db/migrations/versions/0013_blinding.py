"""treatment_assignments (the randomisation list's compartment) and unblindings (requests to
break the blind and their results), issue 19

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("site_submitter", "case_processor", "safety_physician", "admin")
ROLES = (*OLD_ROLES, "unblinded_physician")
ROLE_CHECKS = (("users", "ck_users_user_role"),
               ("user_sponsor_roles", "ck_user_sponsor_roles_grant_role"))

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _roles(values: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{r}'" for r in values)
    for table, name in ROLE_CHECKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(name), type_="check")
            batch.create_check_constraint(op.f(name), f"role IN ({allowed})")


def upgrade() -> None:
    _roles(ROLES)
    op.create_table(
        "treatment_assignments",
        sa.Column("sponsor_id", sa.Integer(), sa.ForeignKey("sponsors.id"), primary_key=True),
        sa.Column("protocol", sa.String(100), primary_key=True),
        sa.Column("subject", sa.String(100), primary_key=True),
        sa.Column("arm", sa.String(200), nullable=False),
        sa.Column("treatment", sa.String(100), nullable=False),
        sa.Column("strength", sa.String(100), nullable=False),
        sa.Column("kits", JSON, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "unblindings",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("sponsor_id", sa.Integer(), sa.ForeignKey("sponsors.id"), nullable=False),
        sa.Column("case_id", sa.Uuid(), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("protocol", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("request_reason", sa.Text(), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revealed_by", sa.String(200), nullable=True),
        sa.Column("reveal_reason", sa.Text(), nullable=True),
        sa.Column("signature_meaning", sa.Text(), nullable=True),
        sa.Column("result", sa.String(100), nullable=True),
        sa.CheckConstraint("kind IN ('susar', 'end_of_study')",
                           name=op.f("ck_unblindings_unblinding_kind")),
        sa.CheckConstraint("status IN ('requested', 'revealed')",
                           name=op.f("ck_unblindings_unblinding_status")),
    )
    op.create_index("ix_unblindings_sponsor_id", "unblindings", ["sponsor_id"])
    op.create_index("ix_unblindings_case_id", "unblindings", ["case_id"])


def downgrade() -> None:
    op.drop_table("unblindings")
    op.drop_table("treatment_assignments")
    _roles(OLD_ROLES)

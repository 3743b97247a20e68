"""case versions of kind ``correction`` (issue #16): a person's edit or assessment makes a
version with no report behind it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``case_versions.report_id`` becomes nullable (a correction has no report) and the kind check
accepts ``correction``. ``case_corrections`` records, per correction version, who made it, why
and which fields changed, and whether the correction fixes only how a sent report was written
(then the regulator holding it is offered an amendment, not a follow-up).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("case_versions") as batch:
        batch.alter_column("report_id", existing_type=sa.Uuid(), nullable=True)
        batch.drop_constraint(op.f("ck_case_versions_version_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_case_versions_version_kind"),
                                      "kind IN ('initial', 'followup', 'correction')")
    op.create_table(
        "case_corrections",
        sa.Column("case_version_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("amendment", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_version_id"], ["case_versions.id"],
                                name=op.f("fk_case_corrections_case_version_id_case_versions")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_corrections_case_id_cases")),
        sa.PrimaryKeyConstraint("case_version_id", name=op.f("pk_case_corrections")),
    )
    op.create_index(op.f("ix_case_corrections_case_id"), "case_corrections", ["case_id"])


def downgrade() -> None:
    found = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM case_versions WHERE kind = 'correction'")).scalar_one()
    if found:
        # Versions are part of the record (never deleted): a database holding corrections
        # cannot go back to a schema without them.
        raise RuntimeError(f"{found} correction version(s) exist; revision 0007 cannot hold "
                           "them, so the downgrade stops here")
    op.drop_index(op.f("ix_case_corrections_case_id"), table_name="case_corrections")
    op.drop_table("case_corrections")
    with op.batch_alter_table("case_versions") as batch:
        batch.drop_constraint(op.f("ck_case_versions_version_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_case_versions_version_kind"),
                                      "kind IN ('initial', 'followup')")
        batch.alter_column("report_id", existing_type=sa.Uuid(), nullable=False)

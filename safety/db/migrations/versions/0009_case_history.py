"""Case history inputs of the rules (issue #15): receipts by party per case version, dated
assessments per event x drug, and whether a filed report was complete

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``case_receipts``: who (sponsor, affiliate, licence partner, vendor) received a version's
information, when; day 0 is the earliest (GVP VI.B.7). ``case_assessments``: the sponsor's (or
investigator's) dated causality/expectedness per event x suspect drug; the day an assessment
made the case reportable starts the clocks counting from the sponsor's awareness (Reg.
536/2014 Art. 42(2), C.05.014(1)) or determination (21 CFR 312.32(c)(1)).
``submissions.complete`` / ``obligations.complete``: the filer's statement that a report was
complete (null: not said), which decides the EU CTR completed report (Art. 42(2)). Existing
rows get null (not said), which owes the completion report as before.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safety.db.base

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'case_receipts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('case_version_id', sa.Uuid(), nullable=False),
        sa.Column('party', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('instant', safety.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('day', sa.Date(), nullable=True),
        sa.Column('recorded_at', safety.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sponsor_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_version_id'], ['case_versions.id'],
                                name=op.f('fk_case_receipts_case_version_id_case_versions')),
        sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'],
                                name=op.f('fk_case_receipts_sponsor_id_sponsors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_receipts')),
    )
    op.create_index(op.f('ix_case_receipts_case_version_id'), 'case_receipts',
                    ['case_version_id'], unique=False)
    op.create_index(op.f('ix_case_receipts_sponsor_id'), 'case_receipts', ['sponsor_id'],
                    unique=False)
    op.create_table(
        'case_assessments',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.Uuid(), nullable=False),
        sa.Column('reaction_id', sa.String(length=100), nullable=False),
        sa.Column('drug_id', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('instant', safety.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('day', sa.Date(), nullable=True),
        sa.Column('causality', sa.String(length=20), nullable=True),
        sa.Column('method', sa.String(length=100), nullable=False),
        sa.Column('result', sa.String(length=100), nullable=False),
        sa.Column('expected', sa.Boolean(), nullable=True),
        sa.Column('reference', sa.String(length=40), nullable=False),
        sa.Column('rsi_version', sa.String(length=200), nullable=False),
        sa.Column('assessor', sa.String(length=200), nullable=False),
        sa.Column('recorded_at', safety.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sponsor_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_assessments_case_id_cases')),
        sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'],
                                name=op.f('fk_case_assessments_sponsor_id_sponsors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_assessments')),
    )
    op.create_index(op.f('ix_case_assessments_case_id'), 'case_assessments', ['case_id'],
                    unique=False)
    op.create_index(op.f('ix_case_assessments_sponsor_id'), 'case_assessments',
                    ['sponsor_id'], unique=False)
    with op.batch_alter_table("obligations") as batch:
        batch.add_column(sa.Column("complete", sa.Boolean(), nullable=True))
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("complete", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("complete")
    with op.batch_alter_table("obligations") as batch:
        batch.drop_column("complete")
    op.drop_table('case_assessments')
    op.drop_table('case_receipts')

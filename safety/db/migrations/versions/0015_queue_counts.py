"""queue_counts: the queue's cases per sponsor and state, kept with the queue's index so that
the queue's tabs are read, not counted, on every page (issue 17)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

Filled here from the index as it stands (plain SQL on the tables 0011 created); from then on
the code that rewrites ``queue_entries`` keeps it (``safety.review.store.apply_counts``),
including for the cases ``safety db upgrade`` indexes right after migrating.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('queue_counts',
    sa.Column('sponsor_id', sa.Integer(), nullable=False),
    sa.Column('case_state', sa.String(length=30), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'], name=op.f('fk_queue_counts_sponsor_id_sponsors')),
    sa.PrimaryKeyConstraint('sponsor_id', 'case_state', name=op.f('pk_queue_counts'))
    )
    op.execute("INSERT INTO queue_counts (sponsor_id, case_state, cases) "
               "SELECT sponsor_id, case_state, count(*) FROM queue_entries "
               "GROUP BY sponsor_id, case_state")


def downgrade() -> None:
    op.drop_table('queue_counts')

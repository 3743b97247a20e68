"""the review queue's index: one row per case (queue_entries) and its product and event terms
(queue_terms), so that the queue filters, searches, sorts and pages in SQL (issue 17)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

The rows are derived data: this revision only creates the tables. They are filled for the
cases already stored by ``safety db upgrade`` (and the embedded database's automatic upgrade)
right after migrating, with the code of the release being installed
(``safety.review.queue.index_missing_cases``), so the migration never depends on today's
models.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safety.db.base

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('queue_entries',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('case_number', sa.String(length=40), nullable=False),
    sa.Column('number_key', sa.String(length=40), nullable=False),
    sa.Column('sender_key', sa.String(length=200), nullable=False),
    sa.Column('case_state', sa.String(length=30), nullable=False),
    sa.Column('serious', sa.Boolean(), nullable=True),
    sa.Column('urgent', sa.Integer(), nullable=False),
    sa.Column('first_received_at', safety.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('products', sa.Text(), nullable=False),
    sa.Column('study', sa.String(length=200), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('subject_key', sa.String(length=200), nullable=True),
    sa.Column('coding_review', sa.Boolean(), nullable=False),
    sa.Column('suspected_duplicate', sa.Boolean(), nullable=False),
    sa.Column('rejected_by_regulator', sa.Boolean(), nullable=False),
    sa.Column('refreshed_at', safety.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sponsor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'], name=op.f('fk_queue_entries_sponsor_id_sponsors')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_queue_entries'))
    )
    op.create_index('ix_queue_entries_case_state', 'queue_entries', ['case_state', 'sponsor_id'], unique=False)
    op.create_index('ix_queue_entries_number_key', 'queue_entries', ['number_key'], unique=False, postgresql_ops={'number_key': 'text_pattern_ops'})
    op.create_index('ix_queue_entries_case_number', 'queue_entries', ['case_number'], unique=False)
    op.create_index('ix_queue_entries_received', 'queue_entries', ['first_received_at', 'case_number'], unique=False)
    op.create_index('ix_queue_entries_sender_key', 'queue_entries', ['sender_key'], unique=False, postgresql_ops={'sender_key': 'text_pattern_ops'})
    op.create_index(op.f('ix_queue_entries_sponsor_id'), 'queue_entries', ['sponsor_id'], unique=False)
    op.create_index('ix_queue_entries_study', 'queue_entries', ['study'], unique=False)
    op.create_index('ix_queue_entries_subject_key', 'queue_entries', ['subject_key'], unique=False, postgresql_ops={'subject_key': 'text_pattern_ops'})
    op.create_index('ix_queue_entries_urgency', 'queue_entries', ['next_due', 'urgent', 'first_received_at', 'case_number'], unique=False)
    op.create_table('queue_terms',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('value', sa.String(length=400), nullable=False),
    sa.Column('sponsor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'], name=op.f('fk_queue_terms_sponsor_id_sponsors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_terms'))
    )
    op.create_index(op.f('ix_queue_terms_case_id'), 'queue_terms', ['case_id'], unique=False)
    op.create_index('ix_queue_terms_kind_key', 'queue_terms', ['kind', 'key'], unique=False)
    op.create_index(op.f('ix_queue_terms_sponsor_id'), 'queue_terms', ['sponsor_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_queue_terms_sponsor_id'), table_name='queue_terms')
    op.drop_index('ix_queue_terms_kind_key', table_name='queue_terms')
    op.drop_index(op.f('ix_queue_terms_case_id'), table_name='queue_terms')
    op.drop_table('queue_terms')
    op.drop_index('ix_queue_entries_urgency', table_name='queue_entries')
    op.drop_index('ix_queue_entries_subject_key', table_name='queue_entries', postgresql_ops={'subject_key': 'text_pattern_ops'})
    op.drop_index('ix_queue_entries_study', table_name='queue_entries')
    op.drop_index(op.f('ix_queue_entries_sponsor_id'), table_name='queue_entries')
    op.drop_index('ix_queue_entries_sender_key', table_name='queue_entries', postgresql_ops={'sender_key': 'text_pattern_ops'})
    op.drop_index('ix_queue_entries_received', table_name='queue_entries')
    op.drop_index('ix_queue_entries_case_number', table_name='queue_entries')
    op.drop_index('ix_queue_entries_number_key', table_name='queue_entries', postgresql_ops={'number_key': 'text_pattern_ops'})
    op.drop_index('ix_queue_entries_case_state', table_name='queue_entries')
    op.drop_table('queue_entries')

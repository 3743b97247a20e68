"""Dedup: key lookups by (sponsor_id, key, case_id); profiles marked for re-indexing (issue 21)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

``ix_dedup_block_keys_sponsor_key`` replaces ``ix_dedup_block_keys_sponsor_id``: a new
report's key lookup reads, per key, the first rows of one sponsor's bucket from the index
alone (``safety.dedup.store.candidate_rows``); the index on ``sponsor_id`` alone served no
lookup (every row of a one-sponsor installation matches it), and the new one serves whatever
it did. ``dedup_profiles.reindex_reason``: why a profile must be re-indexed although its
key scheme is current, e.g. ``release MedDRA 27.1`` when a dictionary release is activated
(its concepts are the event and drug keys); NULL: nothing due.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_dedup_block_keys_sponsor_key', 'dedup_block_keys',
                    ['sponsor_id', 'key', 'case_id'])
    op.drop_index('ix_dedup_block_keys_sponsor_id', table_name='dedup_block_keys')
    with op.batch_alter_table('dedup_profiles') as batch:
        batch.add_column(sa.Column('reindex_reason', sa.String(200), nullable=True))
    op.create_index('ix_dedup_profiles_reindex_reason', 'dedup_profiles',
                    ['sponsor_id', 'reindex_reason'])


def downgrade() -> None:
    op.drop_index('ix_dedup_profiles_reindex_reason', table_name='dedup_profiles')
    with op.batch_alter_table('dedup_profiles') as batch:
        batch.drop_column('reindex_reason')
    op.create_index('ix_dedup_block_keys_sponsor_id', 'dedup_block_keys', ['sponsor_id'])
    op.drop_index('ix_dedup_block_keys_sponsor_key', table_name='dedup_block_keys')

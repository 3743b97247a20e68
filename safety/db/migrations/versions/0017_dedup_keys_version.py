"""The blocking-key scheme a dedup profile was indexed with (issue 21)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

``dedup_profiles.keys_version``: the scheme (``safety.dedup.blocking.KEYS_VERSION``) of the
profile and blocking keys stored for a case. Issue 21 replaced the code- and substance-based
keys (``pt:``, ``sub:``) with concept keys, so a profile indexed before cannot be found by a new
report's keys. Rows stored before this revision are NULL (the old scheme); this revision only
adds the column. They are re-indexed from their case version, with the code of the release
being installed, by ``safety db upgrade`` (and the embedded database's automatic upgrade)
right after migrating, or by ``safety dedup reindex`` (``safety.dedup.service.reindex``).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dedup_profiles') as batch:
        batch.add_column(sa.Column('keys_version', sa.Integer(), nullable=True))
    op.create_index('ix_dedup_profiles_keys_version', 'dedup_profiles',
                    ['sponsor_id', 'keys_version'])


def downgrade() -> None:
    op.drop_index('ix_dedup_profiles_keys_version', table_name='dedup_profiles')
    with op.batch_alter_table('dedup_profiles') as batch:
        batch.drop_column('keys_version')

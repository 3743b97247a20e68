"""The sender's case id in its compared form (issue #21)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

``cases.sender_case_key``: C.1.1 without case, spaces or punctuation (``safety.cases.identifiers
.norm_id``), so that a follow-up whose sender writes ``acme/2024-17`` for ``ACME-2024-17``
finds its case, as docs/dedup.md promises. Existing rows are filled from ``sender_case_id``.
"""
import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _norm(value: str) -> str:
    # a copy of norm_id as of this revision: migrations do not import code that may change
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", folded.lower()).upper()


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('sender_case_key', sa.String(length=200), nullable=True))
    cases = sa.table('cases', sa.column('id', sa.Uuid()),
                     sa.column('sender_case_id', sa.String()),
                     sa.column('sender_case_key', sa.String()))
    conn = op.get_bind()
    for cid, sender_case_id in conn.execute(sa.select(cases.c.id, cases.c.sender_case_id)):
        conn.execute(cases.update().where(cases.c.id == cid)
                     .values(sender_case_key=_norm(sender_case_id or "")))
    op.create_index('ix_cases_sender_case_key', 'cases',
                    ['sponsor_id', 'sender', 'sender_case_key'])


def downgrade() -> None:
    op.drop_index('ix_cases_sender_case_key', table_name='cases')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('sender_case_key')

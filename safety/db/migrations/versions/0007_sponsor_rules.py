"""sponsors.rules: each sponsor's documented choices where the law is ambiguous (issue #15),
e.g. its reading of SI 2004/1031 reg. 33(2) as amended in 2026

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Existing sponsors get ``{}``: every option at its default (the reading that never misses a
report), which is what the engine did before the setting existed.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sponsors") as batch:
        batch.add_column(sa.Column(
            "rules", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
            nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("sponsors") as batch:
        batch.drop_column("rules")

"""a trigram index on the queue's event terms, where the database offers one (PostgreSQL's
pg_trgm), so that a search by event term ("pneumon" anywhere in the term) is an index lookup,
not a read of every term (issue 17)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Optional by design: SQLite (the embedded default) has no such index and reads the terms as
before; on PostgreSQL the extension is created when the migrating role may (pg_trgm is a
trusted extension: the database's owner may, from PostgreSQL 13), and otherwise the index is
left out with a warning and the search stays correct, only slower. The index is not in the
models (SQLAlchemy cannot declare it for one dialect only); ``env.py`` tells the model check
to leave it alone.
"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_queue_terms_event_trgm"
log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a refusal must not abort the upgrade's transaction
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s): event-term search reads every term",
                    str(exc.orig).strip().splitlines()[0])
        return
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON queue_terms "
               "USING gin (key gin_trgm_ops) WHERE kind = 'event'")


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")

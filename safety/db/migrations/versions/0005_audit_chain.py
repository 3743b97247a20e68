"""the audit trail is chained by hash: each event carries its place in its sponsor's chain,
the hash of the event before it and its own hash; existing events are chained in the order
they were written

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

One chain per sponsor and one for the events of no sponsor (``safety.audit.chain``,
docs/decisions.md). On PostgreSQL events are inserted unsealed and sealed in batches, in their
own short transaction, by ``audit_events_seal()``: a function owned by the owner role that runs
this migration and run with its rights, which the application's role (which may only insert
audit events, not even their chain columns: ``safety db roles``) may call but not imitate.
Sealing is the one UPDATE the append-only trigger lets through: it fills the three chain
columns of an event that has none, and nothing else. SQLite has no such function: the audit
store seals each event as it writes it (one writer at a time).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from safety.audit.chain import Link, canonical_changes, link_hash

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# pg_advisory_xact_lock(LOCK_CLASS, 0): one sealer at a time ("SDAU").
LOCK_CLASS = 1396982101

_FUNCTIONS = """
CREATE FUNCTION audit_field(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NULL THEN '~' ELSE length(v)::text || ':' || v END
$$;

-- safety.audit.chain.material, in SQL: the two must agree (tests/audit check that they do)
CREATE FUNCTION audit_event_hash(e audit_events) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(
        audit_field('v1') || audit_field(e.seq::text) || audit_field(e.prev_hash)
        || audit_field(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
        || audit_field(e.actor) || audit_field(e.action) || audit_field(e.entity_type)
        || audit_field(e.entity_id) || audit_field(e.case_id::text)
        || audit_field(e.sponsor_id::text) || audit_field(e.changes::text)
        || audit_field(e.reason), 'UTF8')), 'hex')
$$;

-- Seal every committed event still unsealed, chain by chain in the order they were written,
-- in one short transaction: what `safety audit seal` and the scheduler's sealing job call,
-- with the owner's rights (SECURITY DEFINER: the application's role may not update the audit
-- trail, and can do nothing with this but seal). One sealer at a time (the advisory lock);
-- after it, each statement's new snapshot (READ COMMITTED) sees the previous sealer's work.
-- Writers never wait for it: an event is inserted unsealed and sealed within seconds.
CREATE FUNCTION audit_events_seal() RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp AS $$
DECLARE
    e audit_events;
    chain integer := NULL;
    last_seq bigint;
    last_hash text;
    sealed integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock({lock}, 0);
    FOR e IN SELECT * FROM audit_events WHERE hash IS NULL
             ORDER BY coalesce(sponsor_id, 0), id LOOP
        IF chain IS DISTINCT FROM coalesce(e.sponsor_id, 0) THEN
            chain := coalesce(e.sponsor_id, 0);
            IF e.sponsor_id IS NULL THEN
                SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_events a
                 WHERE a.sponsor_id IS NULL AND a.seq IS NOT NULL
                 ORDER BY a.seq DESC LIMIT 1;
            ELSE
                SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_events a
                 WHERE a.sponsor_id = e.sponsor_id AND a.seq IS NOT NULL
                 ORDER BY a.seq DESC LIMIT 1;
            END IF;
        END IF;
        e.seq := coalesce(last_seq, 0) + 1;
        e.prev_hash := last_hash;
        e.hash := audit_event_hash(e);
        UPDATE audit_events SET seq = e.seq, prev_hash = e.prev_hash, hash = e.hash
         WHERE id = e.id;
        last_seq := e.seq;
        last_hash := e.hash;
        sealed := sealed + 1;
    END LOOP;
    RETURN sealed;
END;
$$;

CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
       AND to_jsonb(NEW) - ARRAY['seq', 'prev_hash', 'hash']
           = to_jsonb(OLD) - ARRAY['seq', 'prev_hash', 'hash'] THEN
        RETURN NEW;  -- sealing: the chain columns of an unsealed event, nothing else
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

REVOKE ALL ON FUNCTION audit_events_seal() FROM PUBLIC;
"""

_OLD_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                   nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_index("uq_audit_events_chain_seq", "audit_events", ["sponsor_id", "seq"],
                    unique=True, postgresql_where=sa.text("sponsor_id IS NOT NULL"),
                    sqlite_where=sa.text("sponsor_id IS NOT NULL"))
    op.create_index("uq_audit_events_global_seq", "audit_events", ["seq"], unique=True,
                    postgresql_where=sa.text("sponsor_id IS NULL"),
                    sqlite_where=sa.text("sponsor_id IS NULL"))
    op.create_index("ix_audit_events_unsealed", "audit_events", ["id"],
                    postgresql_where=sa.text("hash IS NULL"),
                    sqlite_where=sa.text("hash IS NULL"))
    if postgres:
        schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
        quoted = bind.dialect.identifier_preparer.quote(schema)
        _run(bind, _FUNCTIONS.replace("{lock}", str(LOCK_CLASS)).replace("{schema}", quoted))
        op.execute("SELECT audit_events_seal()")  # the trail so far, in id order
    else:
        _seal_existing_sqlite(bind)


def _run(bind: sa.Connection, sql: str) -> None:
    """Plain SQL as written (PL/pgSQL bodies hold ``%`` and ``:``, which no layer may read as
    a parameter)."""
    bind.exec_driver_sql(sql.replace("%", "%%"))


def _seal_existing_sqlite(bind: sa.Connection) -> None:
    from safety.audit.store import AuditEvent  # the column types (UTC times, uuids, JSON)

    table = AuditEvent.__table__
    heads: dict[int | None, tuple[int, str]] = {}
    rows = bind.execute(sa.select(table.c.id, table.c.at, table.c.actor, table.c.action,
                                  table.c.entity_type, table.c.entity_id, table.c.case_id,
                                  table.c.sponsor_id, table.c.changes, table.c.reason)
                        .order_by(table.c.id)).all()
    for row in rows:
        seq, prev = heads.get(row.sponsor_id, (0, None))
        link = Link(seq=seq + 1, prev_hash=prev, at=row.at, actor=row.actor, action=row.action,
                    entity_type=row.entity_type, entity_id=row.entity_id, case_id=row.case_id,
                    sponsor_id=row.sponsor_id, changes_text=canonical_changes(row.changes),
                    reason=row.reason)
        digest = link_hash(link)
        bind.execute(sa.update(table).where(table.c.id == row.id)
                     .values(seq=seq + 1, prev_hash=prev, hash=digest))
        heads[row.sponsor_id] = (seq + 1, digest)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_seal()")
        op.execute("DROP FUNCTION IF EXISTS audit_event_hash(audit_events)")
        op.execute("DROP FUNCTION IF EXISTS audit_field(text)")
        _run(op.get_bind(), _OLD_APPEND_ONLY)
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    op.drop_index("uq_audit_events_global_seq", table_name="audit_events")
    op.drop_index("uq_audit_events_chain_seq", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")

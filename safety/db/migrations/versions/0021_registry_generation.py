"""sponsors.registry_generation: a number the database bumps, in the writing transaction,
whenever a row of the sponsor's registry or RSI changes (issue 20)

A worker keeps each sponsor's registry and RSI between jobs keyed by this number
(``safety.db.generations``), so it must change with every write whoever makes it (the API,
a command, a migration import, SQL typed by hand): triggers, not application code. Each
insert, update or delete of a row of ``products``, ``product_statuses``, ``studies`` or
``rsi_versions`` (every table ``safety.products.store`` reads the registry and RSI from)
adds one to its sponsor's number; an update that moves a row to another sponsor bumps both.

PostgreSQL: one function (the owner's rights, SECURITY DEFINER: the application's role may
not write the column itself, ``Sponsor.__set_by_database__``) and one row trigger per table.
SQLite: three triggers per table (its triggers name one event each and hold the statement).
A later migration that rebuilds one of these tables on SQLite (``batch_alter_table``'s move
and copy) drops its triggers with the old table and must create them again (``_sqlite``);
``tests/products/test_registry_cache.py`` checks every table on both databases.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("products", "product_statuses", "studies", "rsi_versions")

_PG_FUNCTION = """
CREATE FUNCTION sponsors_bump_registry_generation() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE sponsors SET registry_generation = registry_generation + 1
         WHERE id = NEW.sponsor_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE sponsors SET registry_generation = registry_generation + 1
         WHERE id = OLD.sponsor_id;
    ELSE
        UPDATE sponsors SET registry_generation = registry_generation + 1
         WHERE id IN (OLD.sponsor_id, NEW.sponsor_id);
    END IF;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION sponsors_bump_registry_generation() FROM PUBLIC;
"""


def _pg_trigger(table: str) -> str:
    return (f"CREATE TRIGGER {table}_registry_generation AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION sponsors_bump_registry_generation()")


def _sqlite(table: str) -> list[str]:
    bump = "UPDATE sponsors SET registry_generation = registry_generation + 1 WHERE id"
    return [
        f"CREATE TRIGGER {table}_registry_generation_insert AFTER INSERT ON {table} "
        f"BEGIN {bump} = NEW.sponsor_id; END",
        f"CREATE TRIGGER {table}_registry_generation_update AFTER UPDATE ON {table} "
        f"BEGIN {bump} IN (OLD.sponsor_id, NEW.sponsor_id); END",
        f"CREATE TRIGGER {table}_registry_generation_delete AFTER DELETE ON {table} "
        f"BEGIN {bump} = OLD.sponsor_id; END",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("sponsors") as batch:
        batch.add_column(sa.Column("registry_generation", sa.Integer(), nullable=False,
                                   server_default="0"))
    if bind.dialect.name == "postgresql":
        schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
        quoted = bind.dialect.identifier_preparer.quote(schema)
        bind.exec_driver_sql(_PG_FUNCTION.replace("{schema}", quoted).replace("%", "%%"))
        for table in TABLES:
            op.execute(_pg_trigger(table))
    else:
        for table in TABLES:
            for statement in _sqlite(table):
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_registry_generation ON {table}")
        op.execute("DROP FUNCTION IF EXISTS sponsors_bump_registry_generation()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_registry_generation_{event}")
    with op.batch_alter_table("sponsors") as batch:
        batch.drop_column("registry_generation")

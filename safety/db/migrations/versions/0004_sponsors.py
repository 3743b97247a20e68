"""sponsors are the tenants: every case, report, product, study, site, obligation, message,
team synonym, duplicate index row and audit event belongs to one sponsor

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

A single-organisation database moves whole into one sponsor, DEFAULT, configured with what the
installation used: ``safety db upgrade`` passes the organisation code, time zone and sender
block from the settings (``safety.sponsors.service.migration_defaults``); without them the defaults of a
fresh installation apply. The case sequence continues under that sponsor, FDA and EMA messages
keep the organisation code as their gateway sender id, existing API clients and staff keep
working for it with the roles they had, and existing audit events are its events.
"""
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

import safety.db.base

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose rows all belong to the default sponsor, each getting sponsor_id NOT NULL.
OWNED = ("reports", "cases", "case_versions", "obligations", "obligation_recommendations",
         "submissions", "dedup_profiles", "dedup_block_keys", "dedup_identifiers",
         "dedup_candidates", "dedup_decisions", "sites", "product_statuses", "rsi_versions")
ROLES = ("site_submitter", "case_processor", "safety_physician", "admin")


def _defaults() -> dict[str, Any]:
    given = context.config.attributes.get("default_sponsor") or {}
    if callable(given):  # read only now, when this migration runs (it may refuse)
        given = given()
    configured = str(given.get("org_code") or "SAFETYDESK").strip()
    # C.1.8.1 carried the configured code's letters and digits in capitals (the rule of
    # safety.cases.identifiers at 0003); N.1.3 and N.2.r.2 carried it as configured: that is
    # the account the FDA and EMA gateways know, kept unless no gateway id could be it.
    org_code = re.sub(r"[^A-Z0-9]", "", configured.upper()) or "SAFETYDESK"
    sender_id = configured if re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", configured) else org_code
    sender = given.get("sender") or {}
    return {"code": "DEFAULT", "name": str(sender.get("organisation") or "Default sponsor"),
            "org_code": org_code, "case_prefix": "SD",
            "timezone": str(given.get("timezone") or "UTC"), "sender": sender,
            "gateways": {r: {"sender_id": sender_id, "batch_receiver": None,
                             "message_receiver": None} for r in ("fda", "ema")},
            "reporting": []}


def _tell_shared_site_names_apart(bind: sa.Connection) -> None:
    """A site's name was unique within its organisation (``safety site add NAME
    --organisation ORG``) and becomes unique within the sponsor: a name that two
    organisations gave their sites gets the organisation's name added, each site keeping its
    id (its tokens, users and reports), each rename audited."""
    shared = bind.execute(sa.text(
        "SELECT s.id, s.name, o.name FROM sites s JOIN organisations o "
        "ON o.id = s.organisation_id WHERE s.name IN "
        "(SELECT name FROM sites GROUP BY name HAVING count(*) > 1) ORDER BY s.id")).all()
    events = []
    for site_id, name, organisation in shared:
        renamed = f"{name} ({organisation})"[:200]
        bind.execute(sa.text("UPDATE sites SET name = :name WHERE id = :id"),
                     {"name": renamed, "id": site_id})
        events.append({"at": safety.db.base.utcnow(), "actor": "migration:0004",
                       "action": "site.renamed", "entity_type": "sites",
                       "entity_id": str(site_id), "case_id": None,
                       "changes": [{"field": "name", "from": name, "to": renamed}],
                       "reason": f"site names are unique per sponsor; another organisation "
                                 f"than {organisation!r} had a site named {name!r}"})
    if events:
        op.bulk_insert(sa.table(
            "audit_events", sa.column("at", safety.db.base.UTCDateTime(timezone=True)),
            sa.column("actor"), sa.column("action"), sa.column("entity_type"),
            sa.column("entity_id"), sa.column("case_id", sa.Uuid()),
            sa.column("changes", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(),
                                                        "postgresql")),
            sa.column("reason")), events)


def _owned(table: str, sponsor_id: int) -> None:
    op.add_column(table, sa.Column("sponsor_id", sa.Integer(), nullable=True))
    op.execute(sa.text(f"UPDATE {table} SET sponsor_id = :s").bindparams(s=sponsor_id))
    with op.batch_alter_table(table) as batch:
        batch.alter_column("sponsor_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(op.f(f"fk_{table}_sponsor_id_sponsors"), "sponsors",
                                 ["sponsor_id"], ["id"])
        batch.create_index(op.f(f"ix_{table}_sponsor_id"), ["sponsor_id"], unique=False)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    defaults = _defaults()  # first: when the installation's settings are refused, nothing changed
    sponsors = op.create_table(
        "sponsors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_code", sa.String(length=40), nullable=False),
        sa.Column("case_prefix", sa.String(length=10), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(),
                                                   "postgresql"), nullable=False),
        sa.Column("gateways", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(),
                                                     "postgresql"), nullable=False),
        sa.Column("reporting", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(),
                                                      "postgresql"), nullable=False),
        sa.Column("created_at", safety.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sponsors")),
        sa.UniqueConstraint("case_prefix", name=op.f("uq_sponsors_case_prefix")),
        sa.UniqueConstraint("code", name=op.f("uq_sponsors_code")),
        sa.UniqueConstraint("name", name=op.f("uq_sponsors_name")),
    )
    op.bulk_insert(sponsors, [{**defaults, "created_at": safety.db.base.utcnow()}])
    sponsor_id = bind.execute(sa.text("SELECT id FROM sponsors WHERE code = 'DEFAULT'")
                              ).scalar_one()

    # products and studies are the sponsor's: their keys become (sponsor_id, id).
    with op.batch_alter_table("product_statuses") as batch:
        batch.drop_constraint("fk_product_statuses_product_id_products", type_="foreignkey")
        batch.drop_constraint("uq_product_statuses_product_id", type_="unique")
    with op.batch_alter_table("rsi_versions") as batch:
        batch.drop_constraint("fk_rsi_versions_product_id_products", type_="foreignkey")
        batch.drop_constraint("uq_rsi_versions_product_id", type_="unique")
    for table, key in (("products", "id"), ("studies", "protocol")):
        op.add_column(table, sa.Column("sponsor_id", sa.Integer(), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET sponsor_id = :s").bindparams(s=sponsor_id))
        with op.batch_alter_table(table) as batch:
            batch.alter_column("sponsor_id", existing_type=sa.Integer(), nullable=False)
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", ["sponsor_id", key])
            batch.create_foreign_key(op.f(f"fk_{table}_sponsor_id_sponsors"), "sponsors",
                                     ["sponsor_id"], ["id"])

    _tell_shared_site_names_apart(bind)
    # sites belong to sponsors instead of the organisations they had
    with op.batch_alter_table("sites") as batch:
        batch.drop_constraint("uq_sites_organisation_id", type_="unique")
        batch.drop_constraint("fk_sites_organisation_id_organisations", type_="foreignkey")
        batch.drop_column("organisation_id")
        batch.add_column(sa.Column("protocol", sa.String(length=100), nullable=True))
    op.drop_table("organisations")

    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("uq_cases_sender", type_="unique")
        batch.drop_constraint("uq_cases_worldwide_case_id", type_="unique")

    for table in OWNED:
        _owned(table, sponsor_id)

    with op.batch_alter_table("cases") as batch:
        batch.create_unique_constraint("uq_cases_sender_case",
                                       ["sponsor_id", "sender", "sender_case_id"])
        batch.create_unique_constraint("uq_cases_worldwide_case_id",
                                       ["sponsor_id", "worldwide_case_id"])
    with op.batch_alter_table("sites") as batch:
        batch.create_unique_constraint(op.f("uq_sites_sponsor_id"), ["sponsor_id", "name"])
    with op.batch_alter_table("product_statuses") as batch:
        batch.create_unique_constraint(op.f("uq_product_statuses_sponsor_id"),
                                       ["sponsor_id", "product_id", "jurisdiction", "status"])
        batch.create_foreign_key(op.f("fk_product_statuses_sponsor_id_products"), "products",
                                 ["sponsor_id", "product_id"], ["sponsor_id", "id"],
                                 ondelete="CASCADE")
    with op.batch_alter_table("rsi_versions") as batch:
        batch.create_unique_constraint(op.f("uq_rsi_versions_sponsor_id"),
                                       ["sponsor_id", "product_id", "reference",
                                        "effective_from"])
        batch.create_foreign_key(op.f("fk_rsi_versions_sponsor_id_products"), "products",
                                 ["sponsor_id", "product_id"], ["sponsor_id", "id"])

    # the case sequence continues as the default sponsor's
    op.execute(sa.text("UPDATE counters SET name = :n WHERE name = 'case'")
               .bindparams(n=f"case:{sponsor_id}"))

    # API clients: partners exist now; every client so far works for the default sponsor
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(sa.Column("senders", sa.JSON().with_variant(
            sa.dialects.postgresql.JSONB(), "postgresql"), nullable=True))
        batch.drop_constraint(op.f("ck_api_clients_client_role"), type_="check")
        batch.create_check_constraint(op.f("ck_api_clients_client_role"),
                                      "role IN ('site', 'partner', 'safety')")
    op.execute("UPDATE api_clients SET senders = '[]'")
    with op.batch_alter_table("api_clients") as batch:
        batch.alter_column("senders", existing_type=sa.JSON(), nullable=False)
    op.create_table(
        "api_client_sponsors",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["api_clients.id"],
                                name=op.f("fk_api_client_sponsors_client_id_api_clients")),
        sa.ForeignKeyConstraint(["sponsor_id"], ["sponsors.id"],
                                name=op.f("fk_api_client_sponsors_sponsor_id_sponsors")),
        sa.PrimaryKeyConstraint("client_id", "sponsor_id", name=op.f("pk_api_client_sponsors")),
    )
    op.create_index(op.f("ix_api_client_sponsors_sponsor_id"), "api_client_sponsors",
                    ["sponsor_id"], unique=False)
    op.execute(sa.text("INSERT INTO api_client_sponsors (client_id, sponsor_id) "
                       "SELECT id, :s FROM api_clients").bindparams(s=sponsor_id))

    # staff keep their role, now as a grant for the default sponsor
    allowed = ", ".join(f"'{r}'" for r in ROLES)
    op.create_table(
        "user_sponsor_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("granted_at", safety.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"role IN ({allowed})", name=op.f("ck_user_sponsor_roles_grant_role")),
        sa.ForeignKeyConstraint(["sponsor_id"], ["sponsors.id"],
                                name=op.f("fk_user_sponsor_roles_sponsor_id_sponsors")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_user_sponsor_roles_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "sponsor_id", name=op.f("pk_user_sponsor_roles")),
    )
    op.create_index(op.f("ix_user_sponsor_roles_sponsor_id"), "user_sponsor_roles",
                    ["sponsor_id"], unique=False)
    op.execute(sa.text(
        "INSERT INTO user_sponsor_roles (user_id, sponsor_id, role, granted_at) "
        "SELECT id, :s, role, created_at FROM users WHERE role <> 'site_submitter'"
    ).bindparams(s=sponsor_id))

    # a synonym the team added is the default sponsor's; the dictionary's stay nobody's
    op.add_column("terminology_synonyms", sa.Column("sponsor_id", sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE terminology_synonyms SET sponsor_id = :s WHERE origin = 'team'")
               .bindparams(s=sponsor_id))
    with op.batch_alter_table("terminology_synonyms") as batch:
        batch.create_foreign_key(op.f("fk_terminology_synonyms_sponsor_id_sponsors"),
                                 "sponsors", ["sponsor_id"], ["id"])
        batch.create_index(op.f("ix_terminology_synonyms_sponsor_id"), ["sponsor_id"],
                           unique=False)
        batch.create_check_constraint(op.f("ck_terminology_synonyms_team_synonym_has_sponsor"),
                                      "origin <> 'team' OR sponsor_id IS NOT NULL")

    # the audit trail so far is the default sponsor's (the trigger is lifted for this one
    # statement, by the owner role that runs migrations)
    op.add_column("audit_events", sa.Column("sponsor_id", sa.Integer(), nullable=True))
    if postgres:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
    op.execute(sa.text("UPDATE audit_events SET sponsor_id = :s").bindparams(s=sponsor_id))
    if postgres:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update")
    with op.batch_alter_table("audit_events") as batch:
        batch.create_foreign_key(op.f("fk_audit_events_sponsor_id_sponsors"), "sponsors",
                                 ["sponsor_id"], ["id"])
        batch.create_index(op.f("ix_audit_events_sponsor_id"), ["sponsor_id"], unique=False)
        batch.create_check_constraint(op.f("ck_audit_events_case_has_sponsor"),
                                      "case_id IS NULL OR sponsor_id IS NOT NULL")


def downgrade() -> None:
    raise NotImplementedError("sponsors cannot be merged back into one organisation")

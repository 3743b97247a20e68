"""statuses are enums: each status column accepts only its states

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

The columns stay VARCHAR; a CHECK constraint per column names the allowed values, so a status
the code does not know can never be stored (docs/decisions.md: not native PostgreSQL enums).
The values are written out here, not imported: a migration describes the schema as it was
at its revision.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, constraint name as the naming convention makes it, allowed values)
CHECKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("reports", "status", "ck_reports_report_status",
     ("received", "processed", "held", "failed")),
    ("cases", "state", "ck_cases_case_state",
     ("intake", "triage", "data_entry", "medical_review", "approval", "submission", "closed",
      "nullified")),
    ("case_versions", "kind", "ck_case_versions_version_kind", ("initial", "followup")),
    ("case_versions", "pipeline", "ck_case_versions_pipeline_status",
     ("pending", "done", "failed")),
    ("obligations", "status", "ck_obligations_obligation_status",
     ("open", "awaiting_unblinding", "submitted", "superseded", "not_required")),
    ("obligations", "alert", "ck_obligations_obligation_alert", ("due_soon", "overdue")),
    ("submissions", "state", "ck_submissions_submission_state",
     ("draft", "invalid", "ready", "sent", "acknowledged", "rejected", "withdrawn")),
    ("dedup_decisions", "decision", "ck_dedup_decisions_pair_decision",
     ("confirmed", "rejected")),
    ("users", "role", "ck_users_user_role",
     ("site_submitter", "case_processor", "safety_physician", "admin")),
    ("api_clients", "role", "ck_api_clients_client_role", ("site", "safety")),
    ("product_statuses", "status", "ck_product_statuses_product_status",
     ("investigational", "authorised")),
)


def upgrade() -> None:
    for table, column, name, values in CHECKS:
        allowed = ", ".join(f"'{v}'" for v in values)
        with op.batch_alter_table(table) as batch:
            # the naming convention would prefix the name again: it is given whole
            batch.create_check_constraint(op.f(name), f"{column} IN ({allowed})")


def downgrade() -> None:
    for table, _column, name, _values in reversed(CHECKS):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(name), type_="check")

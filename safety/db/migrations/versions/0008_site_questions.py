"""questions (to sites: asked, answered, closed; minimum-criteria findings too) and
portal_drafts (what a site user typed and has not sent), issue 17

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("sponsor_id", sa.Integer(), sa.ForeignKey("sponsors.id"), nullable=False),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), nullable=True),
        sa.Column("case_id", sa.Uuid(), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("report_id", sa.Uuid(), sa.ForeignKey("reports.id"), nullable=True),
        sa.Column("sender_case_id", sa.String(200), nullable=True),
        sa.Column("source", sa.String(30), nullable=False),
        sa.Column("code", sa.String(50), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("asked_by", sa.String(200), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_report_id", sa.Uuid(), sa.ForeignKey("reports.id"), nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("source IN ('team', 'minimum_criteria')",
                           name=op.f("ck_questions_question_source")),
        sa.CheckConstraint("status IN ('open', 'answered', 'closed')",
                           name=op.f("ck_questions_question_status")),
    )
    op.create_index("ix_questions_sponsor_id", "questions", ["sponsor_id"])
    op.create_index("ix_questions_site_id", "questions", ["site_id"])
    op.create_index("ix_questions_case_id", "questions", ["case_id"])
    op.create_index("ix_questions_status_due", "questions", ["status", "due"])
    op.create_index("ix_questions_stream", "questions",
                    ["sponsor_id", "site_id", "sender_case_id"])
    op.create_table(
        "portal_drafts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sponsor_id", sa.Integer(), sa.ForeignKey("sponsors.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), nullable=True),
        sa.Column("form_key", sa.String(100), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "form_key", name=op.f("uq_portal_drafts_user_id")),
    )
    op.create_index("ix_portal_drafts_sponsor_id", "portal_drafts", ["sponsor_id"])
    op.create_index("ix_portal_drafts_user_id", "portal_drafts", ["user_id"])


def downgrade() -> None:
    op.drop_table("portal_drafts")
    op.drop_table("questions")

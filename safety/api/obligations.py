"""Obligations through the API: per case, and the due-date list across cases."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from safety.api.auth import require_client
from safety.api.cases import get_visible_case
from safety.cases.store import Case
from safety.rules.store import ObligationRow, RecommendationRow

blp = Blueprint("obligations", __name__, url_prefix="/api/v1",
                description="Expedited reporting obligations with due dates and explanations.")

STATUSES = ("open", "awaiting_unblinding", "submitted", "superseded", "not_required")


class ObligationSchema(Schema):
    id = fields.String()
    case_id = fields.String()
    case_number = fields.String()
    version = fields.Integer()
    destination = fields.String()
    regime = fields.String()
    rule = fields.String()
    report_type = fields.String()
    day0 = fields.Date()
    due = fields.Date()
    days = fields.Integer()
    status = fields.String()
    alert = fields.String(allow_none=True)
    citation = fields.String()
    anchor = fields.String()
    explanation = fields.String()
    basis = fields.List(fields.String())


class RecommendationSchema(Schema):
    kind = fields.String()
    destination = fields.String()
    regime = fields.String()
    rule = fields.String()
    reason = fields.String()
    citation = fields.String()


class CaseObligationsSchema(Schema):
    case_id = fields.String()
    obligations = fields.List(fields.Nested(ObligationSchema))
    recommendations = fields.List(fields.Nested(RecommendationSchema))


class ObligationArgs(Schema):
    due_before = fields.Date()
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)),
                         metadata={"description": "repeat to give several"})
    alert = fields.String(validate=validate.OneOf(("due_soon", "overdue")))


def obligation_json(row: ObligationRow, case_number: str | None = None) -> dict[str, Any]:
    return {
        "id": str(row.id), "case_id": str(row.case_id), "case_number": case_number,
        "version": row.version, "destination": row.destination, "regime": row.regime,
        "rule": row.rule_id, "report_type": row.report_type, "day0": row.day0, "due": row.due,
        "days": row.days, "status": row.status, "alert": row.alert, "citation": row.citation,
        "anchor": row.anchor, "explanation": row.explanation, "basis": row.basis or [],
    }


def latest_obligations(session: Any, case_id: uuid.UUID) -> list[ObligationRow]:
    latest = session.scalar(select(ObligationRow.version).where(ObligationRow.case_id == case_id)
                            .order_by(ObligationRow.version.desc()).limit(1))
    if latest is None:
        return []
    return list(session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case_id, ObligationRow.version == latest)
        .order_by(ObligationRow.due, ObligationRow.destination)))


@blp.route("/cases/<uuid:case_id>/obligations")
class CaseObligations(MethodView):
    @blp.response(200, CaseObligationsSchema)
    @blp.alt_response(404, description="No such case for this client")
    def get(self, case_id: uuid.UUID) -> Any:
        """The current version's obligations, each with its rule, citation and arithmetic."""
        case = get_visible_case(case_id)
        rows = latest_obligations(g.db, case.id)
        recs = g.db.scalars(select(RecommendationRow).where(
            RecommendationRow.case_id == case.id)).all()
        return {
            "case_id": str(case.id),
            "obligations": [obligation_json(r, case.case_number) for r in rows],
            "recommendations": [
                {"kind": r.kind, "destination": r.destination, "regime": r.regime,
                 "rule": r.rule_id, "reason": r.reason, "citation": r.citation} for r in recs],
        }


@blp.route("/obligations")
class Obligations(MethodView):
    @blp.arguments(ObligationArgs, location="query")
    @blp.response(200, ObligationSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Obligations across the cases this client may see, ordered by due date."""
        principal = require_client()
        stmt = select(ObligationRow, Case.case_number).join(Case, Case.id == ObligationRow.case_id)
        if principal.role != "safety":
            stmt = stmt.where(Case.site_id == principal.site_id)
        due_before: date | None = args.get("due_before")
        if due_before:
            stmt = stmt.where(ObligationRow.due < due_before)
        if args.get("status"):
            stmt = stmt.where(ObligationRow.status.in_(args["status"]))
        if args.get("alert"):
            stmt = stmt.where(ObligationRow.alert == args["alert"])
        rows = g.db.execute(stmt.order_by(ObligationRow.due, ObligationRow.destination)).all()
        # Only each case's current evaluation: older versions' rows are history.
        current = _current_versions(g.db, {r[0].case_id for r in rows})
        return [obligation_json(r, n) for r, n in rows if current.get(r.case_id) == r.version]


def _current_versions(session: Any, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    from sqlalchemy import func

    if not case_ids:
        return {}
    return dict(session.execute(
        select(ObligationRow.case_id, func.max(ObligationRow.version))
        .where(ObligationRow.case_id.in_(case_ids)).group_by(ObligationRow.case_id)).all())

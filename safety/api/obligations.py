"""Obligations through the API: per case, and the due-date list across cases."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import require_client
from safety.api.cases import get_visible_case
from safety.rules.obligations import ObligationAlert, ObligationStatus
from safety.rules.service import case_obligations, due_list

blp = Blueprint("obligations", __name__, url_prefix="/api/v1",
                description="Expedited reporting obligations with due dates and explanations.")

STATUSES = tuple(s.value for s in ObligationStatus)


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
    alert = fields.String(validate=validate.OneOf([a.value for a in ObligationAlert]))


@blp.route("/cases/<uuid:case_id>/obligations")
class CaseObligations(MethodView):
    @blp.response(200, CaseObligationsSchema)
    @blp.alt_response(404, description="No such case for this client")
    def get(self, case_id: uuid.UUID) -> Any:
        """The current version's obligations, each with its rule, citation and arithmetic."""
        return case_obligations(g.db, get_visible_case(case_id))


@blp.route("/obligations")
class Obligations(MethodView):
    @blp.arguments(ObligationArgs, location="query")
    @blp.response(200, ObligationSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Obligations across the cases this client may see, ordered by due date."""
        return due_list(g.db, require_client().scope, due_before=args.get("due_before"),
                        statuses=[ObligationStatus(s) for s in args.get("status") or ()],
                        alert=ObligationAlert(args["alert"]) if args.get("alert") else None)

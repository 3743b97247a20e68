"""Obligations through the API: per case, and the due-date list across cases."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import require_client
from safety.api.cases import get_visible_case
from safety.api.errors import abort
from safety.cases.codec import CodecError
from safety.products.registry import RegistryError
from safety.products.rsi import RsiError
from safety.rules.day0 import Day0Error
from safety.rules.history import HistoryError
from safety.rules.obligations import ObligationAlert, ObligationStatus
from safety.rules.service import case_obligations, due_list
from safety.rules.whatif import WhatIfError, evaluate_history_json

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
    submitted_on = fields.Date(allow_none=True)
    complete = fields.Boolean(allow_none=True)


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


HISTORY_ERRORS = (CodecError, RegistryError, RsiError, Day0Error, HistoryError, WhatIfError)


@blp.route("/rules/evaluate")
class RulesEvaluate(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "A case history (docs/rules.md, \"Case history\"): "
        "{case_id, timezone, registry, rsi, rules_options, reporting, history: [received | "
        "assessment | unblinding | filing | nullification entries]}"}}}})
    @blp.response(200, description="The evaluation: obligations (submitted or open, each with "
                  "day 0, due date, citation and explanation), recommendations and notes; the "
                  "same as `safety rules evaluate HISTORY.json --json`.")
    def post(self) -> Any:
        """What-if: every obligation a case history owes; nothing is read or stored."""
        require_client()
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, message="Body must be a JSON object with a history list.")
        try:
            ev = evaluate_history_json(body, zone=current_app.config["SAFETY"].timezone)
        except HISTORY_ERRORS as exc:
            abort(422, errors={"json": {"history": [str(exc)]}})
        return ev.to_json()

"""Suspected duplicates of a case, and the physician's decision on each."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import require_client
from safety.api.cases import get_visible_case
from safety.api.errors import abort
from safety.cases.service import find_case
from safety.dedup.service import open_candidates_of
from safety.review.duplicates import DuplicateRefused, decide_duplicate

blp = Blueprint("duplicates", __name__, url_prefix="/api/v1/cases",
                description="Suspected duplicates, with a per-field explanation.")


class DuplicateSchema(Schema):
    candidate_case_id = fields.String()
    candidate_case_number = fields.String()
    score = fields.Float(metadata={"description": "probability that both describe one case"})
    suspected = fields.Boolean()
    rule = fields.String(allow_none=True)
    explanation = fields.List(fields.Dict())


class DuplicateDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("confirm", "reject")))
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class DecisionResultSchema(Schema):
    decision = fields.String()
    master_case_id = fields.String(allow_none=True)
    duplicate_case_id = fields.String(allow_none=True)
    nullification_ids = fields.List(fields.String(), metadata={
        "description": "submissions nullifying the duplicate at the regulators holding it"})


@blp.route("/<uuid:case_id>/duplicates")
class Duplicates(MethodView):
    @blp.response(200, DuplicateSchema(many=True))
    def get(self, case_id: uuid.UUID) -> Any:
        """Candidates not yet decided, highest score first (a site client sees none)."""
        principal = require_client()
        case = get_visible_case(case_id)
        if not principal.safety_team:
            return []  # candidates may be other sites' cases
        return open_candidates_of(g.db, case)


@blp.route("/<uuid:case_id>/duplicates/<uuid:other_id>")
class DuplicateDecision(MethodView):
    @blp.arguments(DuplicateDecisionSchema)
    @blp.response(200, DecisionResultSchema)
    def post(self, args: dict[str, Any], case_id: uuid.UUID, other_id: uuid.UUID) -> Any:
        """Confirm (link under the more complete case) or reject (never offered again)."""
        principal = require_client()
        if not principal.safety_team:
            abort(403, message="Only the safety team decides on duplicates.")
        case = get_visible_case(case_id)
        other = find_case(g.db, other_id, scope=principal.scope)
        if other is None or other.id == case.id:
            abort(404, message="No such other case.")
        try:
            result = decide_duplicate(g.db, case, other, args["decision"], principal.actor,
                                      args["reason"], current_app.config["SAFETY"])
        except DuplicateRefused as exc:
            abort(422, message=exc.message, errors={"json": {exc.field: [exc.message]}})
        return {"decision": result.decision, "master_case_id": result.master_case_id,
                "duplicate_case_id": result.duplicate_case_id,
                "nullification_ids": list(result.nullification_ids)}

"""Suspected duplicates of a case, and the physician's decision on each."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from safety.api.auth import require_client
from safety.api.cases import get_visible_case
from safety.audit import record
from safety.cases.store import working_data
from safety.db.models import Case, CaseVersion
from safety.dedup.candidates_store import open_candidates
from safety.dedup.decisions import choose_master
from safety.dedup.store import decided_with, record_decision

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


def _current(case: Case) -> CaseVersion:
    return g.db.scalar(select(CaseVersion).where(CaseVersion.case_id == case.id,
                                                 CaseVersion.version == case.current_version))


@blp.route("/<uuid:case_id>/duplicates")
class Duplicates(MethodView):
    @blp.response(200, DuplicateSchema(many=True))
    def get(self, case_id: uuid.UUID) -> Any:
        """Candidates not yet decided, highest score first (a site client sees none)."""
        principal = require_client()
        case = get_visible_case(case_id)
        if principal.role != "safety":
            return []  # candidates may be other sites' cases
        decided = decided_with(g.db, case.id, ("rejected", "confirmed"))
        out = []
        for c in open_candidates(g.db, case.id, decided):
            other = g.db.get(Case, c.candidate_case_id)
            out.append({"candidate_case_id": str(c.candidate_case_id),
                        "candidate_case_number": other.case_number if other else None,
                        "score": c.score, "suspected": c.suspected, "rule": c.rule,
                        "explanation": c.explanation})
        return out


@blp.route("/<uuid:case_id>/duplicates/<uuid:other_id>")
class DuplicateDecision(MethodView):
    @blp.arguments(DuplicateDecisionSchema)
    @blp.response(200, DecisionResultSchema)
    def post(self, args: dict[str, Any], case_id: uuid.UUID, other_id: uuid.UUID) -> Any:
        """Confirm (link under the more complete case) or reject (never offered again)."""
        principal = require_client()
        if principal.role != "safety":
            abort(403, message="Only the safety team decides on duplicates.")
        case = get_visible_case(case_id)
        other = g.db.get(Case, other_id)
        if other is None or other.id == case.id:
            abort(404, message="No such other case.")
        master = None
        if args["decision"] == "confirm":
            data = {str(c.id): working_data(g.db, _current(c)) for c in (case, other)}
            master = choose_master(data)
        record_decision(g.db, str(case.id), str(other.id),
                        "confirmed" if master else "rejected", principal.actor, master)
        duplicate = None
        if master:
            duplicate = str(other.id) if master == str(case.id) else str(case.id)
        for c in (case, other):
            record(g.db, actor=principal.actor, action=f"duplicate.{args['decision']}ed",
                   entity=c, reason=args["reason"],
                   changes=[{"field": "duplicate_of",
                             "from": None,
                             "to": (master if duplicate == str(c.id) else None)
                             if master else f"not a duplicate of "
                             f"{(other if c is case else case).case_number}"}])
        return {"decision": args["decision"], "master_case_id": master,
                "duplicate_case_id": duplicate}

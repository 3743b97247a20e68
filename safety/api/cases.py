"""``/api/v1/cases``: the cases a client may see (a site sees only its own)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import Principal, require_client
from safety.api.errors import abort
from safety.cases.service import detail, find_case, list_cases, summary
from safety.cases.workflow import CaseState
from safety.pipeline.jobs import enqueue_stage
from safety.pipeline.stages import FIRST_STAGE
from safety.review.assessing import PairInput, SeriousnessInput
from safety.review.assessments import record_assessments
from safety.review.corrections import Correction, CorrectionRefused, correct_case
from safety.review.unblinding import blinded_detail

if TYPE_CHECKING:
    from safety.cases.store import Case

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases",
                description="Cases and their versions.")


MAX_PAGE = 1_000_000


class CaseListArgs(Schema):
    state = fields.String(validate=validate.OneOf([s.value for s in CaseState]))
    # Bounded so that the offset, (page - 1) * per_page, fits the database's 64-bit integer.
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class VersionSchema(Schema):
    version = fields.Integer()
    kind = fields.String()
    report_id = fields.String()
    received_at = fields.DateTime()
    pipeline = fields.String()
    stages = fields.Dict()


class CaseSummarySchema(Schema):
    case_id = fields.String()
    case_number = fields.String()
    worldwide_case_id = fields.String()
    sender_case_id = fields.String()
    state = fields.String()
    serious = fields.Boolean(allow_none=True)
    current_version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CaseListSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CaseDetailSchema(CaseSummarySchema):
    versions = fields.List(fields.Nested(VersionSchema))
    data = fields.Dict(metadata={"description": "The current version in the case JSON form."})


class CaseCorrectionSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "Why the case is corrected (audited with every field changed)"})
    changes = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                          required=True, metadata={
        "description": "Field path (case JSON form, e.g. drugs[0].dosages[0].dose) -> new "
                       "value; null makes a field absent or removes a list item"})
    version = fields.Integer(metadata={"description": "The version the changes were made on; "
                                                      "refused (409) when the case moved on"})
    amendment = fields.Boolean(load_default=False, metadata={
        "description": "Only the form of a sent report was wrong: a regulator holding the "
                       "case gets an amendment (C.1.11.1 = 2) instead of a follow-up"})


class SponsorCausalitySchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(
        ["WHO-UMC", "Naranjo", "Sponsor binary"]))
    result = fields.String(metadata={"description": "WHO-UMC category or Related/Not related; "
                                                    "computed for Naranjo"})
    naranjo_answers = fields.List(fields.String(validate=validate.OneOf(
        ["yes", "no", "unknown"])), metadata={"description": "the ten answers, in order"})


class SponsorExpectednessSchema(Schema):
    reference = fields.String(required=True, metadata={"description": "IB or label:XX"})
    rsi_version = fields.String(metadata={"description": "default: the version in force at "
                                                         "day 0"})
    expected = fields.Boolean(allow_none=True, metadata={
        "description": "the sponsor's answer; null: the RSI's answer"})
    reason = fields.String(metadata={"description": "required when overriding the RSI"})


class PairAssessmentSchema(Schema):
    reaction_id = fields.String(required=True)
    drug_id = fields.String(required=True)
    causality = fields.Nested(SponsorCausalitySchema)
    expectedness = fields.Nested(SponsorExpectednessSchema)


class SponsorSeriousnessSchema(Schema):
    reaction_id = fields.String(required=True)
    criteria = fields.List(fields.String(), required=True)
    reason = fields.String()


class AssessmentsSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))
    version = fields.Integer()
    assessments = fields.List(fields.Nested(PairAssessmentSchema), load_default=list)
    seriousness = fields.List(fields.Nested(SponsorSeriousnessSchema), load_default=list)


class CorrectionResultSchema(Schema):
    case_id = fields.String()
    version = fields.Integer()
    kind = fields.String()
    changes = fields.List(fields.Dict())
    invalidated_signatures = fields.List(fields.Integer(), metadata={
        "description": "signed versions whose signature no longer holds"})
    returned_to_medical_review = fields.Boolean()


def get_visible_case(case_id: uuid.UUID, *, lock: bool = False) -> Case:
    """The case, or 404 when it does not exist or the client may not see it (no leak)."""
    case = find_case(g.db, case_id, lock=lock, scope=require_client().scope)
    if case is None:
        abort(404, message="No such case.")
    return case


@blp.route("")
class CaseList(MethodView):
    @blp.arguments(CaseListArgs, location="query")
    @blp.response(200, CaseListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Cases visible to this client, newest first."""
        page, per_page = args["page"], args["per_page"]
        rows, total = list_cases(g.db, require_client().scope, state=args.get("state"),
                                 page=page, per_page=per_page)
        return {"items": [summary(c) for c in rows], "total": total, "page": page,
                "per_page": per_page}


@blp.route("/<uuid:case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseDetailSchema)
    @blp.alt_response(404, description="No such case for this client")
    def get(self, case_id: uuid.UUID) -> Any:
        """One case: its versions and the data of the current version."""
        case = get_visible_case(case_id)
        return blinded_detail(g.db, case, detail(g.db, case))

    @blp.arguments(CaseCorrectionSchema)
    @blp.response(200, CorrectionResultSchema)
    @blp.alt_response(409, description="The case may not be corrected now, or moved on")
    def patch(self, args: dict[str, Any], case_id: uuid.UUID) -> Any:
        """Correct fields of the case with a reason: a new version of kind ``correction``,
        audited field by field, processed again (coding, duplicates, rules, drafting); no
        reason, 422."""
        return correct(args, case_id)


def _safety_team() -> Principal:
    principal = require_client()
    if not principal.safety_team:
        abort(403, message="Only the safety team's clients may correct or assess cases.")
    return principal


def _refused(exc: CorrectionRefused) -> Any:
    abort(exc.status, message=exc.message, errors={"json": {exc.field: [exc.message]}})


def _done(case: Case, result: Correction) -> dict[str, Any]:
    """Commit, then hand the new version to the pipeline (coding, duplicates, rules,
    drafting): the job finds the version only once it is committed."""
    g.db.commit()
    enqueue_stage(current_app.config["SAFETY"], FIRST_STAGE, result.version.id)
    return {"case_id": str(case.id), "version": result.version.version,
            "kind": str(result.version.kind), "changes": [c.as_audit() for c in result.changes],
            "invalidated_signatures": result.invalidated,
            "returned_to_medical_review": result.returned}


def correct(args: dict[str, Any], case_id: uuid.UUID) -> Any:
    """Correct fields of the case with a reason: a new version of kind ``correction``,
    audited field by field, processed again (coding, duplicates, rules, drafting)."""
    principal = _safety_team()
    case = get_visible_case(case_id, lock=True)
    try:
        result = correct_case(g.db, case, args["changes"], actor=principal.actor,
                              reason=args["reason"], now=datetime.now(UTC),
                              amendment=args["amendment"], seen_version=args.get("version"))
    except CorrectionRefused as exc:
        _refused(exc)
    return _done(case, result)


@blp.route("/<uuid:case_id>/assessments", methods=["PUT"])
@blp.arguments(AssessmentsSchema)
@blp.response(200, CorrectionResultSchema)
@blp.alt_response(409, description="The case may not be assessed now, or moved on")
def assessments(args: dict[str, Any], case_id: uuid.UUID) -> Any:
    """The sponsor's causality, expectedness and seriousness per event x suspect drug: a new
    version whose rules and messages follow the sponsor's word (G.k.9.i.2.r source Sponsor)."""
    principal = _safety_team()
    case = get_visible_case(case_id, lock=True)
    pairs = []
    for a in args["assessments"]:
        c, e = a.get("causality") or {}, a.get("expectedness") or {}
        pairs.append(PairInput(
            reaction_id=a["reaction_id"], drug_id=a["drug_id"], method=c.get("method"),
            result=c.get("result"), naranjo_answers=tuple(c.get("naranjo_answers") or ()),
            reference=e.get("reference"), rsi_version=e.get("rsi_version"),
            expected=e.get("expected"), expectedness_reason=e.get("reason")))
    serious = [SeriousnessInput(s["reaction_id"], tuple(s["criteria"]), s.get("reason"))
               for s in args["seriousness"]]
    try:
        result = record_assessments(g.db, case, pairs, serious, actor=principal.actor,
                                    reason=args["reason"], now=datetime.now(UTC),
                                    seen_version=args.get("version"))
    except CorrectionRefused as exc:
        _refused(exc)
    return _done(case, result)

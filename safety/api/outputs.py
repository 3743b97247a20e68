"""What the safety team reads and hands on: whether a case can be approved and why not, the
CIOMS I form, the line listing of a queue filter."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import Principal, require_client
from safety.api.cases import get_visible_case
from safety.api.errors import abort
from safety.blinding.audience import Audience, BlindingError, check_output
from safety.cases.workflow import FINAL_STATES, CaseState
from safety.review.facts import QUEUE_FLAGS
from safety.review.outputs import cioms1_pdf, line_listing_file
from safety.review.queue import QueueFilters
from safety.review.signatures import approval_status

blp = Blueprint("outputs", __name__, url_prefix="/api/v1",
                description="Approval readiness, the CIOMS I form and line listings.")


class ApprovalSchema(Schema):
    case_id = fields.String()
    case_number = fields.String()
    state = fields.String()
    version = fields.Integer()
    can_approve = fields.Boolean(metadata={
        "description": "the case waits for approval and nothing blocks the signature"})
    blockers = fields.List(fields.String(), metadata={
        "description": "why the current version cannot be approved with a signature (the "
                       "signature panel's reasons: an invalid message names its regulator, "
                       "element and reason)"})


def _safety_team() -> Principal:
    principal = require_client()
    if not principal.safety_team:
        abort(403, message="Only the safety team's clients may read this.")
    return principal


@blp.route("/cases/<uuid:case_id>/approval")
class CaseApproval(MethodView):
    @blp.response(200, ApprovalSchema)
    @blp.alt_response(404, description="No such case for this client")
    def get(self, case_id: uuid.UUID) -> Any:
        """Whether the current version can be approved with an electronic signature, and what
        blocks it (an invalid message, a message that does not answer its obligation, coding
        or duplicates still open)."""
        case = get_visible_case(case_id)
        _safety_team()
        return approval_status(g.db, case)


class AudienceArgs(Schema):
    """Who the document is for (issue 19, docs/blinding.md)."""

    audience = fields.String(load_default=Audience.STUDY_TEAM.value,
                             validate=validate.OneOf([a.value for a in Audience]),
                             metadata={"description": "regulator, dsmb (may be unblinded), "
                                       "ethics_committee, investigator, study_team (blind)"})
    unblinded = fields.Boolean(load_default=False, metadata={
        "description": "ask for the subject's actual treatment: refused for a blind audience "
                       "(400) and for an API client, which is never the unblinded role (403)"})


def _blinded_audience(args: dict[str, Any]) -> Audience:
    """The audience of a document an API client may have: always blinded (a client holds no
    ``unblind``); an unblinded document is refused, naming the audience."""
    audience = Audience(args["audience"])
    if args["unblinded"]:
        try:
            check_output(audience, True)
        except BlindingError as exc:
            abort(400, message=str(exc), errors={"unblinded": [str(exc)]})
        abort(403, message="unblinded: only the unblinded role may have an unblinded "
                           "document made; an API client keeps the blind",
              errors={"unblinded": ["not for an API client"]})
    return audience


def _produced(make: Callable[[], tuple[str, bytes]]) -> tuple[str, bytes]:
    try:
        return make()
    except BlindingError as exc:
        abort(409, message=f"Not produced: {exc}.")


@blp.route("/cases/<uuid:case_id>/cioms1.pdf")
class CaseCioms1(MethodView):
    @blp.arguments(AudienceArgs, location="query", as_kwargs=True)
    @blp.response(200, description="The CIOMS I form (PDF) of the current version.",
                  content_type="application/pdf")
    @blp.alt_response(404, description="No such case for this client")
    def get(self, case_id: uuid.UUID, **args: Any) -> Any:
        """The CIOMS I form of the case's current version, filled from the case as worked
        (boxes 1–25 of the CIOMS I form), as a PDF attachment; for a blinded study, blinded
        ("blinded study drug", no arm-revealing value)."""
        case = get_visible_case(case_id)
        _safety_team()
        audience = _blinded_audience(args)
        today = datetime.now(current_app.config["SAFETY"].zone).date()
        name, pdf = _produced(lambda: cioms1_pdf(g.db, case, today, audience=audience))
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})


class LineListingArgs(AudienceArgs):
    """The queue's filters (the queue page's, by the same names)."""

    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))
    state = fields.List(fields.String(validate=validate.OneOf([s.value for s in CaseState])),
                        metadata={"description": "repeat for several; default: open cases"})
    all = fields.Boolean(load_default=False, metadata={
        "description": "closed and nullified cases too (when no state is given)"})
    sponsor = fields.String(metadata={"description": "a sponsor's code"})
    product = fields.String()
    study = fields.String()
    serious = fields.Boolean()
    unassigned = fields.Boolean(load_default=False)
    overdue = fields.Boolean(load_default=False)
    due_within = fields.Integer(validate=validate.Range(0, 3650))
    flag = fields.String(validate=validate.OneOf(list(QUEUE_FLAGS)))


@blp.route("/line-listing")
class LineListing(MethodView):
    @blp.arguments(LineListingArgs, location="query", as_kwargs=True)
    @blp.response(200, description="The CIOMS II line listing (CSV or XLSX attachment).",
                  content_type="text/csv")
    def get(self, **args: Any) -> Any:
        """The cases the queue shows under these filters, most urgent first, one line each
        with the columns of a CIOMS II line listing."""
        _safety_team()
        audience = _blinded_audience(args)
        states = tuple(args.get("state") or ())
        if not states and not args["all"]:
            states = tuple(s.value for s in CaseState if s not in FINAL_STATES)
        filters = QueueFilters(
            states=states, product=args.get("product"), study=args.get("study"),
            serious=args.get("serious"), unassigned=args["unassigned"],
            overdue=args["overdue"], due_within_days=args.get("due_within"),
            flag=args.get("flag"),
            sponsor=(args.get("sponsor") or "").strip().upper() or None)
        today = datetime.now(current_app.config["SAFETY"].zone).date()
        try:
            name, media_type, body = line_listing_file(g.db, filters, today, args["format"],
                                                       audience=audience)
        except BlindingError as exc:
            abort(409, message=f"Not produced: {exc}.")
        return Response(body, headers={"Content-Type": media_type,
                                       "Content-Disposition": f'attachment; filename="{name}"'})

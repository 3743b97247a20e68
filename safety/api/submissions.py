"""Submissions and acknowledgements through the API."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import Principal, require_client
from safety.api.cases import get_visible_case
from safety.api.errors import abort
from safety.e2b.ack import read_ack
from safety.e2b.hl7 import E2BError
from safety.review.unblinding import blinded_answer, unmasked_refused
from safety.submissions.acks import apply_ack
from safety.submissions.requests import LifecycleRequestError, nullify_case, request_amendment
from safety.submissions.service import case_submissions, submission_view, visible_submission

if TYPE_CHECKING:
    from safety.submissions.store import Submission

blp = Blueprint("submissions", __name__, url_prefix="/api/v1",
                description="E2B(R3) messages per regulator, and regulators' ACKs.")


class ConformanceFindingSchema(Schema):
    element = fields.String()
    xpath = fields.String()
    rule = fields.String()
    message = fields.String()
    severity = fields.String()


class SubmissionSchema(Schema):
    id = fields.String()
    case_id = fields.String()
    case_version_id = fields.String()
    obligation_id = fields.String(allow_none=True)
    destination = fields.String()
    e2b_destination = fields.String(allow_none=True)
    profile = fields.String()
    kind = fields.String(metadata={"description": "initial, follow-up, amendment or "
                                                  "nullification (C.1.11.1)"})
    reason = fields.String(allow_none=True, metadata={
        "description": "C.1.11.2: why the report is amended or nullified"})
    due = fields.Date(allow_none=True)
    batch_id = fields.String(allow_none=True)
    message_id = fields.String(allow_none=True)
    receiver = fields.String(allow_none=True)
    state = fields.String()
    findings = fields.List(fields.Nested(ConformanceFindingSchema))
    notes = fields.List(fields.String())
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    acked_at = fields.DateTime(allow_none=True)
    complete = fields.Boolean(allow_none=True, metadata={
        "description": "the approver's statement that the message carries the complete "
                       "information (null: not stated)"})
    ack_code = fields.String(allow_none=True)
    ack_text = fields.String(allow_none=True)


class LifecycleReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "C.1.11.2: the specific reason the regulator will read"})


class NullificationSchema(Schema):
    case_number = fields.String()
    state = fields.String()
    messages = fields.List(fields.Nested(SubmissionSchema),
                           metadata={"description": "one nullification per regulator holding "
                                                    "the case"})
    withdrawn = fields.List(fields.Nested(SubmissionSchema),
                            metadata={"description": "messages never sent, now withdrawn"})


def _safety_team() -> Principal:
    principal = require_client()
    if not principal.safety_team:
        abort(403, message="Only the safety team's clients may amend or nullify reports.")
    return principal


def _visible_submission(submission_id: uuid.UUID) -> Submission:
    sub = visible_submission(g.db, submission_id, require_client().scope)
    if sub is None:
        abort(404, message="No such submission.")
    return sub


@blp.route("/cases/<uuid:case_id>/submissions")
class CaseSubmissions(MethodView):
    @blp.response(200, SubmissionSchema(many=True))
    def get(self, case_id: uuid.UUID) -> Any:
        """Every message drafted or sent for this case, newest version first (for a blinded
        study, its findings and notes through the mask)."""
        case = get_visible_case(case_id)
        return blinded_answer(g.db, case, case_submissions(g.db, case))


@blp.route("/submissions/<uuid:submission_id>")
class SubmissionItem(MethodView):
    @blp.response(200, SubmissionSchema)
    def get(self, submission_id: uuid.UUID) -> Any:
        """One submission with its conformance findings and acknowledgement (for a blinded
        study, through the mask)."""
        sub = _visible_submission(submission_id)
        return blinded_answer(g.db, get_visible_case(sub.case_id), submission_view(g.db, sub))


@blp.route("/submissions/<uuid:submission_id>/xml")
class SubmissionXml(MethodView):
    @blp.response(200, description="The E2B(R3) batch as it is (or will be) sent.")
    @blp.alt_response(404, description="No such submission, or no message for it")
    def get(self, submission_id: uuid.UUID) -> Any:
        """The message itself, for the gateway or for reading."""
        sub = _visible_submission(submission_id)
        if unmasked_refused(g.db, get_visible_case(sub.case_id), None):
            abort(403, message="This message is of a blinded study's case: a regulator's "
                               "message names the subject's treatment after the reveal; an API "
                               "client keeps the blind (docs/blinding.md).")
        if not sub.xml:
            abort(404, message="This submission has no message (see its findings).")
        return Response(sub.xml, mimetype="application/xml",
                        headers={"Content-Disposition": f'inline; filename="{sub.batch_id}.xml"'})


@blp.route("/acks")
class Acks(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"application/xml": {"schema": {
        "type": "string", "description": "An E2B(R3) acknowledgement (MCCI_IN200101UV01)."}}}})
    @blp.response(200, SubmissionSchema(many=True))
    def post(self) -> Any:
        """Read a regulator's ACK and move the submissions it answers."""
        principal = require_client()
        if not principal.safety_team:
            abort(403, message="Only the safety team's clients may post acknowledgements.")
        try:
            ack = read_ack(request.get_data(cache=True))
        except E2BError as exc:
            abort(400, message=f"Not a readable E2B(R3) acknowledgement: {exc}")
        changed = apply_ack(g.db, ack, principal.actor)
        if not changed:
            abort(404, message=f"No submission for batch {ack.target_batch_id!r}.")
        return [submission_view(g.db, s) for s in changed]


@blp.route("/submissions/<uuid:submission_id>/amendment")
class SubmissionAmendment(MethodView):
    @blp.arguments(LifecycleReasonSchema)
    @blp.response(201, SubmissionSchema)
    @blp.alt_response(409, description="Not transmitted, not the latest, or the case is "
                                       "nullified")
    def post(self, args: dict[str, Any], submission_id: uuid.UUID) -> Any:
        """Amend a transmitted message: a correction without new information (C.1.11.1 = 2,
        C.1.5 unchanged). Drafted on the same version; it goes out once that version is
        approved with an electronic signature."""
        principal = _safety_team()
        sub = _visible_submission(submission_id)
        try:
            amendment = request_amendment(g.db, sub, args["reason"], principal.actor,
                                          current_app.config["SAFETY"])
        except LifecycleRequestError as exc:
            abort(exc.status, message=str(exc))
        return submission_view(g.db, amendment)


@blp.route("/cases/<uuid:case_id>/nullification")
class CaseNullification(MethodView):
    @blp.arguments(LifecycleReasonSchema)
    @blp.response(200, NullificationSchema)
    @blp.alt_response(409, description="The case's state does not allow nullification")
    def post(self, args: dict[str, Any], case_id: uuid.UUID) -> Any:
        """Nullify the case (final): a nullification (C.1.11.1 = 1, with the reason) for every
        regulator holding it, in the outbox when conformant; unsent messages are withdrawn.
        Asking again drafts nothing new."""
        principal = _safety_team()
        case = get_visible_case(case_id, lock=True)
        try:
            done = nullify_case(g.db, case, args["reason"], principal.actor,
                                current_app.config["SAFETY"])
        except LifecycleRequestError as exc:
            abort(exc.status, message=str(exc))
        return {"case_number": done.case_number, "state": case.state,
                "messages": [submission_view(g.db, s) for s in done.messages],
                "withdrawn": [submission_view(g.db, s) for s in done.withdrawn]}

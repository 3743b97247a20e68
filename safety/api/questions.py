"""``/api/v1/questions``: the safety team's questions to sites, and the sites' answers.

A safety-team client asks on a case, closes or reopens; a site client lists its own site's
questions and answers them (text, and/or the id of a follow-up report it sent through
``POST /api/v1/reports``). A partner client has no questions here (its sender is asked through
its own channel). Another sponsor's or site's question is a 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.accounts.roles import ClientRole
from safety.api.auth import Principal, require_client
from safety.api.cases import get_visible_case
from safety.api.errors import abort
from safety.intake.service import answer_with_report
from safety.questions.service import (
    ask,
    close,
    question_dict,
    questions_for,
    reopen,
    visible_question,
)
from safety.questions.status import QuestionError, QuestionStatus

if TYPE_CHECKING:
    from safety.questions.store import Question

blp = Blueprint("questions", __name__, url_prefix="/api/v1",
                description="Questions from the safety team to sites, and their answers.")


class QuestionSchema(Schema):
    id = fields.String()
    case_id = fields.String(allow_none=True)
    report_id = fields.String(allow_none=True, metadata={
        "description": "The held report a minimum-criteria question was raised on."})
    sae_id = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "team or minimum_criteria"})
    code = fields.String(allow_none=True)
    text = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields")
    asked_by = fields.String()
    asked_at = fields.DateTime()
    due = fields.Date()
    overdue = fields.Boolean()
    status = fields.String(metadata={"description": "open, answered or closed"})
    answer_text = fields.String(allow_none=True)
    answered_by = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    answer_report_id = fields.String(allow_none=True)
    closed_by = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)


class AskSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(1, 4000))
    fields_ = fields.List(fields.String(validate=validate.Length(1, 100)), data_key="fields",
                          load_default=list, metadata={
                              "description": "SAE form fields the question is about, e.g. "
                                             "subject.birth_date, events.0.onset_date"})
    due = fields.Date(metadata={"description": "Calendar date; default: "
                                               "SAFETY_QUESTION_DUE_DAYS from today"})


class AnswerSchema(Schema):
    text = fields.String(validate=validate.Length(max=4000))
    report_id = fields.UUID(metadata={
        "description": "A follow-up report of the same SAE this site sent, if the answer is "
                       "a follow-up."})


class ReasonSchema(Schema):
    reason = fields.String(validate=validate.Length(max=4000))


class QuestionArgs(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in QuestionStatus]))
    overdue = fields.Boolean(load_default=False)
    sae_id = fields.String()


def _today() -> Any:
    return datetime.now(current_app.config["SAFETY"].zone).date()


def _principal(*roles: ClientRole) -> Principal:
    principal = require_client()
    if principal.role not in roles:
        abort(403, message=f"Only {' or '.join(r.value for r in roles)} clients may do this.")
    return principal


def _question(question_id: uuid.UUID, principal: Principal) -> Question:
    q = visible_question(g.db, question_id, principal.scope, lock=True)
    if q is None:
        abort(404, message="No such question.")
    return q


def _refused(exc: QuestionError) -> Any:
    abort(422, message=str(exc), errors={"json": {exc.field: [exc.message]}})


@blp.route("/questions")
class Questions(MethodView):
    @blp.arguments(QuestionArgs, location="query")
    @blp.response(200, QuestionSchema(many=True))
    @blp.alt_response(403, schema="Error", description="A client whose role may not do this")
    def get(self, args: dict[str, Any]) -> Any:
        """Questions this client may see (a site: its own), most urgent first."""
        principal = _principal(ClientRole.SITE, ClientRole.SAFETY)
        today = _today()
        found = questions_for(
            g.db, principal.scope, sender_case_id=args.get("sae_id"),
            statuses=(QuestionStatus(args["status"]),) if args.get("status") else (),
            overdue_on=today if args["overdue"] else None)
        return [question_dict(q, today) for q in found]


@blp.route("/cases/<uuid:case_id>/questions")
class CaseQuestions(MethodView):
    @blp.response(200, QuestionSchema(many=True))
    @blp.alt_response(403, schema="Error", description="A client whose role may not do this")
    @blp.alt_response(404, description="No such case for this client")
    def get(self, case_id: uuid.UUID) -> Any:
        """The questions asked on a case (the safety team; a site: its own site's case)."""
        principal = _principal(ClientRole.SITE, ClientRole.SAFETY)
        case = get_visible_case(case_id)
        today = _today()
        return [question_dict(q, today)
                for q in questions_for(g.db, principal.scope, case_id=case.id)]

    @blp.arguments(AskSchema)
    @blp.response(201, QuestionSchema)
    @blp.alt_response(403, schema="Error", description="A client whose role may not do this")
    @blp.alt_response(404, description="No such case for this client")
    @blp.alt_response(422, schema="Error", description="The field named, and why")
    def post(self, body: dict[str, Any], case_id: uuid.UUID) -> Any:
        """Ask the case's site a question (safety team)."""
        principal = _principal(ClientRole.SAFETY)
        case = get_visible_case(case_id, lock=True)
        try:
            q = ask(g.db, case, actor=principal.actor, text=body["text"],
                    fields=body["fields_"], due=body.get("due"), today=_today(),
                    default_days=current_app.config["SAFETY"].question_due_days)
        except QuestionError as exc:
            _refused(exc)
        return question_dict(q, _today())


def _acted(question_id: uuid.UUID, role: ClientRole,
           act: Callable[[Question, Principal], object]) -> dict[str, Any]:
    """One step on a question by a client of ``role``: the question as it then is, or the
    refusal naming its field."""
    principal = _principal(role)
    q = _question(question_id, principal)
    try:
        act(q, principal)
    except QuestionError as exc:
        _refused(exc)
    return question_dict(q, _today())


@blp.route("/questions/<uuid:question_id>")
class QuestionItem(MethodView):
    @blp.response(200, QuestionSchema)
    @blp.alt_response(403, schema="Error", description="A client whose role may not do this")
    @blp.alt_response(404, description="No such question for this client")
    def get(self, question_id: uuid.UUID) -> Any:
        principal = _principal(ClientRole.SITE, ClientRole.SAFETY)
        return question_dict(_question(question_id, principal), _today())


@blp.route("/questions/<uuid:question_id>/answer")
class QuestionAnswer(MethodView):
    @blp.arguments(AnswerSchema)
    @blp.response(200, QuestionSchema)
    @blp.alt_response(403, schema="Error", description="A client whose role may not do this")
    @blp.alt_response(404, description="No such question for this client")
    @blp.alt_response(422, schema="Error", description="The field named, and why")
    def post(self, body: dict[str, Any], question_id: uuid.UUID) -> Any:
        """The site answers: text, and/or a follow-up report it sent (site clients)."""
        return _acted(question_id, ClientRole.SITE, lambda q, p: answer_with_report(
            g.db, q, p.scope, actor=p.actor, text=body.get("text"),
            report_id=body.get("report_id")))


@blp.route("/questions/<uuid:question_id>/close")
class QuestionClose(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, QuestionSchema)
    @blp.alt_response(403, schema="Error", description="A client whose role may not do this")
    @blp.alt_response(404, description="No such question for this client")
    @blp.alt_response(422, schema="Error", description="The field named, and why")
    def post(self, body: dict[str, Any], question_id: uuid.UUID) -> Any:
        """Accept the answer, or withdraw an open question (reason required then)."""
        return _acted(question_id, ClientRole.SAFETY, lambda q, p: close(
            g.db, q, actor=p.actor, reason=body.get("reason")))


@blp.route("/questions/<uuid:question_id>/reopen")
class QuestionReopen(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, QuestionSchema)
    @blp.alt_response(403, schema="Error", description="A client whose role may not do this")
    @blp.alt_response(404, description="No such question for this client")
    @blp.alt_response(422, schema="Error", description="The field named, and why")
    def post(self, body: dict[str, Any], question_id: uuid.UUID) -> Any:
        """The answer is not enough: open the question again, saying why."""
        return _acted(question_id, ClientRole.SAFETY, lambda q, p: reopen(
            g.db, q, actor=p.actor, reason=body.get("reason")))

"""``/api/v1/reports``: submit a report, follow its processing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any, NoReturn

from flask import Response, current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from safety.accounts.roles import ClientRole
from safety.api.auth import Principal, acting_sponsor, require_client
from safety.api.body import json_body
from safety.api.errors import abort
from safety.e2b.hl7 import E2BError
from safety.intake.acks import NotAnE2BReport, report_ack
from safety.intake.idempotency import IdempotencyConflict
from safety.intake.invalid import InvalidSubmission, SenderNotBound
from safety.intake.service import (
    Accepted,
    Submitter,
    e2b_reports,
    listed_reports,
    reject_e2b,
    report_view,
    site_form_report,
    submit,
    visible_report,
)
from safety.intake.status import ReportStatus
from safety.pipeline.dispatch import QueueDispatch

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports",
                description="Submit adverse event reports and follow their processing.")


class AcceptedMessageSchema(Schema):
    report_id = fields.String(required=True)
    message_id = fields.String(allow_none=True)
    status_url = fields.String(required=True)


class AcceptedSchema(Schema):
    report_id = fields.String(required=True)
    status = fields.String(required=True)
    status_url = fields.String(required=True)
    reports = fields.List(fields.Nested(AcceptedMessageSchema),
                          metadata={"description": "E2B batches: one report per message."})


class FindingSchema(Schema):
    code = fields.String()
    criterion = fields.String(metadata={"description": "the data element number (e.g. "
                                        "D.5) or criterion concerned; '-' when unknown"})
    xpath = fields.String(metadata={"description": "where in an E2B message (E2B findings)"})
    message = fields.String()


class ReportStatusSchema(Schema):
    report_id = fields.String()
    channel = fields.String()
    sender_case_id = fields.String(allow_none=True)
    received_at = fields.DateTime()
    status = fields.String(metadata={
        "description": "received, processed, held, failed or rejected (an E2B message that "
                       "could not be read at all: kept as sent, with the reason in findings "
                       "and last_error; never processed)"})
    findings = fields.List(fields.Nested(FindingSchema))
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True, metadata={
        "description": "Why the last processing attempt failed: the error's class and a short "
                       "message (never the database's own text; operators see the full error "
                       "in the worker's log). A received report waiting for an earlier report "
                       "of the same sender's case says so: 'WaitingForEarlierReport: waiting "
                       "for failed report <id>: <its reason>'."})
    processed_at = fields.DateTime(allow_none=True)
    case_id = fields.String(allow_none=True)
    case_version_id = fields.String(allow_none=True)
    case_url = fields.String(allow_none=True)


class ReportListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in ReportStatus]),
                           metadata={"description": "only reports with this status"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ReportListSchema(Schema):
    reports = fields.List(fields.Nested(ReportStatusSchema))


def _submitter(principal: Principal) -> Submitter:
    return Submitter(actor=principal.actor,
                     sender=f"site:{principal.site_id}" if principal.role == ClientRole.SITE
                     else f"client:{principal.client_id}",
                     site_id=principal.site_id, client_id=principal.client_id,
                     sponsor_id=acting_sponsor(principal),
                     # only the safety team relays others' messages; anyone else is bound
                     e2b_senders=None if principal.role == ClientRole.SAFETY
                     else frozenset(principal.senders))


def _submit(incoming: Any) -> list[Accepted]:
    settings = current_app.config["SAFETY"]
    try:
        return submit(settings.effective_database_url, incoming, _submitter(require_client()),
                      QueueDispatch(settings, relay=True))
    except IdempotencyConflict as exc:
        abort(409, message=str(exc))
    except InvalidSubmission as exc:
        abort(422, message="Nothing was stored: " + str(exc), errors=exc.errors)


IDEMPOTENCY_KEY_MAX = 200
IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7E]+$"
CONTENT_TYPE_MAX = 100


BATCHES = (
    "An E2B batch is read tolerantly: a value that cannot be read as its type (a dangling "
    "reference, an odd date form, an unknown null flavour) is a finding on the message's "
    "report, and the message is processed. A document that is not an ICSR batch at all (not "
    "XML, a DOCTYPE, another root element, no message) is stored as sent, as one report with "
    "status rejected and its reason, and answered 400 with that report in Location (its AR "
    "acknowledgement at <report>/ack). A readable batch is stored whole or not at all: one "
    "holding a value the service cannot store (422, naming the message and the element) is "
    "not stored, so it may be sent again, corrected. Once stored, each message is processed "
    "on its own and has its own status.")


@blp.route("")
class Reports(MethodView):
    @blp.arguments(ReportListQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ReportListSchema)
    @blp.alt_response(401, schema="Error", description="Unknown or revoked token")
    def get(self, status: str | None = None, limit: int = 100) -> Any:
        """The reports this client may see, newest first: e.g. ``?status=rejected`` for the
        inbound messages that could not be read, ``?status=failed`` or ``held`` for those a
        person must look at."""
        scope = require_client().scope
        rows = listed_reports(g.db, scope, status=ReportStatus(status) if status else None,
                              limit=limit)
        views = []
        for report in rows:
            view = report_view(report)
            view["case_url"] = (url_for("cases.CaseItem", case_id=report.case_id)
                                if report.case_id else None)
            views.append(view)
        return {"reports": views}

    @blp.doc(
        description=BATCHES,
        requestBody={
            "required": True,
            "content": {
                "application/json": {"schema": "SAEForm"},
                "application/xml": {"schema": {
                    "type": "string",
                    "description": "An ICH E2B(R3) ICSR batch (MCCI_IN200100UV01). " + BATCHES}},
            },
        },
        parameters=[{
            "in": "header", "name": "Idempotency-Key", "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX,
                       "pattern": IDEMPOTENCY_KEY_PATTERN},
            "description": "Retrying with the same key returns the first answer "
                           "(1 to 200 printable ASCII characters).",
        }],
    )
    @blp.response(202, AcceptedSchema)
    @blp.alt_response(400, schema="Error",
                      description="Body not valid JSON, or not a readable E2B(R3) batch "
                                  "(with a DOCTYPE, malformed, not MCCI_IN200100UV01): the "
                                  "batch is stored as a rejected report, named in Location")
    @blp.alt_response(401, schema="Error", description="Unknown or revoked token")
    @blp.alt_response(403, schema="Error",
                      description="Client not attached to a site, or an E2B message whose "
                                  "sender (N.2.r.2) the partner client is not bound to "
                                  "(named; nothing stored)")
    @blp.alt_response(409, schema="Error",
                      description="Idempotency-Key reused with a different body")
    @blp.alt_response(413, schema="Error", description="Body over the size limit")
    @blp.alt_response(415, schema="Error", description="Unsupported content type")
    @blp.alt_response(422, schema="Error",
                      description="Invalid form, header or E2B value: every bad field is named "
                                  "and nothing is stored")
    def post(self) -> Any:
        """Submit an SAE form (JSON) or an E2B(R3) batch (XML). Answered only after the
        report(s) are stored."""
        principal = require_client()
        mimetype = request.mimetype
        if mimetype in ("application/xml", "text/xml", "application/hl7-v3+xml"):
            content_type, key = _content_type(), _idempotency_key()
            return _post_e2b(principal, request.get_data(cache=True), content_type, key)
        if mimetype != "application/json":
            abort(415, message=f"Content-Type {mimetype[:100] or '(none)'} is not supported; "
                               "send application/json or application/xml.")
        content_type, key = _content_type(), _idempotency_key()
        raw = request.get_data(cache=True)
        body = json_body()
        try:
            incoming = site_form_report(_submitter(principal), body, raw,
                                        content_type=content_type)
        except ValidationError as err:
            abort(422, errors={"json": err.messages})
        if principal.role == ClientRole.SITE and principal.site_id is None:
            abort(403, message="This client is not attached to a site.")
        report = _submit([replace(incoming, idempotency_key=key)])[0].report
        status_url = url_for("reports.ReportItem", report_id=report.id)
        return (
            {"report_id": str(report.id), "status": report.status, "status_url": status_url},
            202,
            {"Location": status_url},
        )


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
        abort(422, errors={"headers": {"Idempotency-Key": [
            f"Must be 1 to {IDEMPOTENCY_KEY_MAX} characters ({len(key)} given)."]}})
    if not key.isascii() or not key.isprintable():
        abort(422, errors={"headers": {"Idempotency-Key": [
            "Must be printable ASCII characters only."]}})
    return key


def _content_type() -> str:
    """The Content-Type header as received (kept with the report), at most 100 characters."""
    value = request.content_type or request.mimetype
    if len(value) > CONTENT_TYPE_MAX:
        abort(422, errors={"headers": {"Content-Type": [
            f"At most {CONTENT_TYPE_MAX} characters ({len(value)} given)."]}})
    if not value.isprintable():
        abort(422, errors={"headers": {"Content-Type": ["Must not contain control characters."]}})
    return value


def _post_e2b(principal: Principal, raw: bytes, content_type: str, key: str | None) -> Any:
    try:
        reports = e2b_reports(_submitter(principal), raw, content_type=content_type,
                              idempotency_key=key)
    except E2BError as exc:
        _rejected(principal, raw, exc, content_type, key)
    except SenderNotBound as exc:
        abort(403, message="Nothing was stored: a message names a sender this client may not "
                           "send as: " + str(exc), errors=exc.errors)
    except InvalidSubmission as exc:
        abort(422, message="Nothing was stored: " + str(exc), errors=exc.errors)
    accepted = _submit(reports)
    items = [{"report_id": str(a.report.id), "message_id": a.message_id,
              "status_url": url_for("reports.ReportItem", report_id=a.report.id)}
             for a in accepted]
    first = items[0]
    return (
        {"report_id": first["report_id"], "status": accepted[0].report.status,
         "status_url": first["status_url"], "reports": items},
        202,
        {"Location": first["status_url"]},
    )


def _rejected(principal: Principal, raw: bytes, exc: E2BError, content_type: str,
              key: str | None) -> NoReturn:
    """Not a readable batch: stored raw as a ``rejected`` report (nothing sent is lost), then
    answered 400 with the reason and, in ``Location``, the report (its AR ACK at ``/ack``)."""
    settings = current_app.config["SAFETY"]
    try:
        stored = reject_e2b(settings.effective_database_url, _submitter(principal), raw,
                            exc.where, exc.reason, content_type=content_type,
                            idempotency_key=key).report
    except IdempotencyConflict as conflict:
        abort(409, message=str(conflict))
    status_url = url_for("reports.ReportItem", report_id=stored.id)
    abort(400, message=f"Not a readable E2B(R3) batch: {exc}. Stored as rejected report "
                       f"{stored.id} ({status_url}); its acknowledgement (AR) is at "
                       f"{status_url}/ack.",
          errors={"xml": {exc.where: [exc.reason]}}, headers={"Location": status_url})


@blp.route("/<uuid:report_id>")
class ReportItem(MethodView):
    @blp.response(200, ReportStatusSchema)
    @blp.alt_response(404, description="No such report for this client")
    def get(self, report_id: uuid.UUID) -> Any:
        """A report's processing status, findings and the case it became."""
        report = visible_report(g.db, report_id, require_client().scope)
        if report is None:
            abort(404, message="No such report.")
        view = report_view(report)
        view["case_url"] = (url_for("cases.CaseItem", case_id=report.case_id)
                            if report.case_id else None)
        return view


@blp.route("/<uuid:report_id>/ack")
class ReportAck(MethodView):
    @blp.response(200, description="The ICH acknowledgement (MCCI_IN200101UV01) of the E2B "
                                   "batch the report came in, as XML.")
    @blp.alt_response(404, description="No such report for this client, or it did not come "
                                       "as E2B")
    def get(self, report_id: uuid.UUID) -> Any:
        """The acknowledgement for the sender of an E2B batch: ACK.A.4 AA (every message
        accepted without findings), AE (accepted, with findings: each message's findings are
        its ACK.B.r.7 text) or AR (not a readable batch: stored as a rejected report, the
        reason in ACK.A.5). Made from what was stored, so the same every time."""
        report = visible_report(g.db, report_id, require_client().scope)
        if report is None:
            abort(404, message="No such report.")
        try:
            ack = report_ack(g.db, report)
        except NotAnE2BReport as exc:
            abort(404, message=str(exc))
        return Response(ack.xml, mimetype="application/xml",
                        headers={"Content-Disposition": f'inline; filename="{ack.filename}"'})

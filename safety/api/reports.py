"""``/api/v1/reports``: submit a report, follow its processing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields

from safety.api.auth import require_client
from safety.intake.schemas import SAEFormSchema
from safety.intake.store import IdempotencyConflict, Incoming, Report, receive_report
from safety.queue.enqueue import enqueue_report
from safety.queue.relay import relay_for

# One instance for the process: building a nested marshmallow schema costs more than
# validating a form with it, and load() keeps no state between calls.
SAE_FORM = SAEFormSchema()

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
    criterion = fields.String()
    message = fields.String()


class ReportStatusSchema(Schema):
    report_id = fields.String()
    channel = fields.String()
    sender_case_id = fields.String(allow_none=True)
    received_at = fields.DateTime()
    status = fields.String(metadata={"description": "received, processed, held or failed"})
    findings = fields.List(fields.Nested(FindingSchema))
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    processed_at = fields.DateTime(allow_none=True)
    case_id = fields.String(allow_none=True)
    case_version_id = fields.String(allow_none=True)
    case_url = fields.String(allow_none=True)


def report_status(report: Report) -> dict[str, Any]:
    return {
        "report_id": str(report.id),
        "channel": report.channel,
        "sender_case_id": report.sender_case_id,
        "received_at": report.received_at,
        "status": report.status,
        "findings": report.findings or [],
        "attempts": report.attempts,
        "last_error": report.last_error,
        "processed_at": report.processed_at,
        "case_id": str(report.case_id) if report.case_id else None,
        "case_version_id": str(report.case_version_id) if report.case_version_id else None,
        "case_url": url_for("cases.CaseItem", case_id=report.case_id) if report.case_id else None,
    }


def _db_url() -> str:
    return current_app.config["SAFETY"].effective_database_url  # type: ignore[no-any-return]


@blp.route("")
class Reports(MethodView):
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "application/json": {"schema": "SAEForm"},
                "application/xml": {"schema": {
                    "type": "string",
                    "description": "An ICH E2B(R3) ICSR batch (MCCI_IN200100UV01)."}},
            },
        },
        parameters=[{
            "in": "header", "name": "Idempotency-Key", "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "Retrying with the same key returns the first answer.",
        }],
    )
    @blp.response(202, AcceptedSchema)
    @blp.alt_response(401, description="Unknown or revoked token")
    @blp.alt_response(409, description="Idempotency-Key reused with a different body")
    @blp.alt_response(413, description="Body over the size limit")
    @blp.alt_response(415, description="Unsupported content type")
    @blp.alt_response(422, description="Invalid form: every bad field is named")
    def post(self) -> Any:
        """Submit an SAE form (JSON) or an E2B(R3) batch (XML). Answered only after the
        report(s) are stored."""
        principal = require_client()
        raw = request.get_data(cache=True)
        mimetype = request.mimetype
        if mimetype in ("application/xml", "text/xml", "application/hl7-v3+xml"):
            return _post_e2b(principal, raw)
        if mimetype != "application/json":
            abort(415, message=f"Content-Type {mimetype or '(none)'} is not supported; "
                               "send application/json or application/xml.")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            abort(400, message=f"Body is not valid JSON: {exc}")
        try:
            form = SAE_FORM.load(body)
        except ValidationError as err:
            abort(422, errors={"json": err.messages})
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= 200):
            abort(422, errors={"headers": {"Idempotency-Key": ["Must be 1 to 200 characters."]}})
        if principal.role == "site" and principal.site_id is None:
            abort(403, message="This client is not attached to a site.")
        incoming = Incoming(
            channel="site_form",
            content_type=request.content_type or mimetype,
            raw=raw,
            payload=body,
            sender=f"site:{principal.site_id}" if principal.role == "site"
            else f"client:{principal.client_id}",
            sender_case_id=form["sae_id"],
            site_id=principal.site_id,
            idempotency_key=key,
        )
        try:
            report, created = receive_report(_db_url(), incoming, principal.client_id,
                                             principal.actor)
        except IdempotencyConflict as exc:
            abort(409, message=str(exc))
        if created:
            relay_for(current_app.config["SAFETY"]).submit(report.id)
        elif report.status == "received":
            enqueue_report(current_app.config["SAFETY"], report.id)
        status_url = url_for("reports.ReportItem", report_id=report.id)
        return (
            {"report_id": str(report.id), "status": report.status, "status_url": status_url},
            202,
            {"Location": status_url},
        )


def _post_e2b(principal: Any, raw: bytes) -> Any:
    from safety.e2b.hl7 import E2BError
    from safety.intake.e2b_batch import split_batch

    try:
        messages = split_batch(raw)
    except E2BError as exc:
        abort(400, message=f"Not a readable E2B(R3) batch: {exc}",
              errors={"xml": {exc.where: [exc.reason]}})
    key = request.headers.get("Idempotency-Key")
    settings = current_app.config["SAFETY"]
    accepted = []
    for m in messages:
        incoming = Incoming(
            channel="e2b", content_type=request.content_type or "application/xml", raw=raw,
            payload=m.payload, sender=m.sender, sender_case_id=m.sender_case_id,
            site_id=principal.site_id,
            idempotency_key=f"{key}#{m.index}" if key else None,
        )
        try:
            report, created = receive_report(_db_url(), incoming, principal.client_id,
                                             principal.actor)
        except IdempotencyConflict as exc:
            abort(409, message=str(exc))
        accepted.append((report, created, m.message_id))
    for report, created, _ in accepted:
        if created:
            relay_for(settings).submit(report.id)
        elif report.status == "received":
            enqueue_report(settings, report.id)
    items = [{"report_id": str(r.id), "message_id": mid,
              "status_url": url_for("reports.ReportItem", report_id=r.id)}
             for r, _, mid in accepted]
    first = items[0]
    return (
        {"report_id": first["report_id"], "status": accepted[0][0].status,
         "status_url": first["status_url"], "reports": items},
        202,
        {"Location": first["status_url"]},
    )


@blp.route("/<uuid:report_id>")
class ReportItem(MethodView):
    @blp.response(200, ReportStatusSchema)
    @blp.alt_response(404, description="No such report for this client")
    def get(self, report_id: uuid.UUID) -> Any:
        """A report's processing status, findings and the case it became."""
        principal = require_client()
        report = g.db.get(Report, report_id)
        if report is None or not principal.can_see_site(report.site_id):
            abort(404, message="No such report.")
        return report_status(report)

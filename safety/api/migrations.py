"""``/api/v1/migrations``: a migration client brings a sponsor's legacy reports in, each with
what a manifest row says of it (docs/import.md): its original receipt, its site or sender,
and, for a case already reported, the day each regulator was sent it.

The same use case as ``safety import --manifest`` (``safety.intake.migration``): each
submission is stored whole or not at all with its original dates, in the order posted, and
handed to the migrations' low-priority queue; ``/reconciliation`` accounts for every report of
the run. Only a client with the ``migration`` role, for its one sponsor; another sponsor's run
is not found (404), as one that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NoReturn

from flask import current_app, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from safety.accounts.roles import ClientRole
from safety.api.auth import Principal, acting_sponsor, require_client
from safety.api.errors import abort
from safety.intake.manifest import ManifestError, submission_entry
from safety.intake.migration import (
    MigrationRun,
    api_run,
    find_run,
    import_e2b,
    import_forms,
    run_items,
    start_run,
)
from safety.intake.service import SAE_FORM
from safety.pipeline.dispatch import QueueDispatch
from safety.review.reconciliation import FileIn, reconcile, settled

blp = Blueprint("migrations", __name__, url_prefix="/api/v1/migrations",
                description="Migrate a sponsor's legacy safety database: reports with their "
                            "original receipt dates, reconciled (migration clients).")


class MigrationRunCreateSchema(Schema):
    label = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "What is migrated, e.g. 'Argus export 2026-11-30'."})


class MigrationRunSchema(Schema):
    id = fields.String()
    label = fields.String()
    created_at = fields.DateTime()
    submissions = fields.Integer(metadata={"description": "submissions stored so far"})
    reports_url = fields.String()
    reconciliation_url = fields.String()


class MigrationManifestSchema(Schema):
    """A manifest row's fields (docs/import.md), checked as ``safety import`` checks them."""

    received = fields.String(allow_none=True, metadata={
        "description": "The original receipt: YYYY-MM-DD (the start of that day in the "
                       "sponsor's zone) or an ISO date-time with its offset. Required for "
                       "forms; E2B: optional (each message's own C.1.5, else C.1.4)."})
    site = fields.String(allow_none=True, validate=validate.Length(max=150), metadata={
        "description": "Forms: the site they come from (created if missing); default the "
                       "form's own site."})
    sender = fields.String(allow_none=True, validate=validate.Length(max=150), metadata={
        "description": "E2B: the original sender when the export's N.2.r.2 is the legacy "
                       "system's."})
    historical = fields.Boolean(load_default=False, metadata={
        "description": "The case was already reported by the old system."})
    submitted = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)),
                            values=fields.String(), allow_none=True, metadata={
        "description": "For a historical case: the day each regulator was sent it, e.g. "
                       '{"FDA": "2021-03-10", "EMA": "2021-03-12"}.'})


class MigrationSubmissionSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "The file's name in the legacy export (kept in the report's "
                       "migration record)."})
    manifest = fields.Nested(MigrationManifestSchema, required=True)
    form = fields.Dict(metadata={"description": "One SAE form (the SAEForm contract)."})
    forms = fields.List(fields.Dict(), validate=validate.Length(min=1, max=1000),
                        metadata={"description": "Several SAE forms of one file."})
    e2b = fields.String(validate=validate.Length(min=1), metadata={
        "description": "An E2B(R3) ICSR batch (MCCI_IN200100UV01) as its XML text."})

    @validates_schema
    def _one_body(self, data: dict[str, Any], **_: Any) -> None:
        given = [k for k in ("form", "forms", "e2b") if k in data]
        if len(given) != 1:
            raise ValidationError("Give exactly one of form, forms or e2b.", "_schema")


class MigratedReportSchema(Schema):
    report_id = fields.String()
    status = fields.String()
    message_id = fields.String(allow_none=True)
    status_url = fields.String()


class MigrationSubmittedSchema(Schema):
    submission = fields.Integer(metadata={"description": "its number in the run"})
    reports = fields.List(fields.Nested(MigratedReportSchema))
    reconciliation_url = fields.String()


class MigrationReconciliationSchema(Schema):
    settled = fields.Integer(metadata={"description": "reports done with (processed with "
                                                      "their stages, held, rejected, failed)"})
    reconciliation = fields.Dict(metadata={"description": "As safety import --manifest "
                                           "prints it (docs/import.md, Reconciliation)."})


def _migration_client() -> Principal:
    principal = require_client()
    if principal.role != ClientRole.MIGRATION:
        abort(403, message="Only a migration client may migrate reports "
                           "(safety client add --migration).")
    return principal


def _run(run_id: uuid.UUID) -> MigrationRun:
    found = find_run(g.db, run_id)
    if found is None:
        abort(404, message="No such migration run.")
    return found


def _run_view(run: MigrationRun) -> dict[str, Any]:
    return {"id": str(run.id), "label": run.label, "created_at": run.created_at,
            "submissions": run.items,
            "reports_url": url_for("migrations.MigrationReports", run_id=run.id),
            "reconciliation_url": url_for("migrations.MigrationReconciliation", run_id=run.id)}


@blp.route("")
class Migrations(MethodView):
    @blp.arguments(MigrationRunCreateSchema)
    @blp.response(201, MigrationRunSchema)
    @blp.alt_response(401, schema="Error", description="Unknown or revoked token")
    @blp.alt_response(403, schema="Error", description="Not a migration client")
    @blp.alt_response(422, schema="Error", description="The field named, and why")
    def post(self, body: dict[str, Any]) -> Any:
        """Start a migration run for the client's sponsor."""
        principal = _migration_client()
        run = start_run(g.db, acting_sponsor(principal), body["label"], actor=principal.actor)
        return _run_view(run)


@blp.route("/<uuid:run_id>/reports")
class MigrationReports(MethodView):
    @blp.arguments(MigrationSubmissionSchema)
    @blp.response(202, MigrationSubmittedSchema)
    @blp.alt_response(400, schema="Error",
                      description="Not a readable E2B(R3) batch: stored as sent, rejected "
                                  "with the reason (counted in the reconciliation)")
    @blp.alt_response(401, schema="Error", description="Unknown or revoked token")
    @blp.alt_response(403, schema="Error", description="Not a migration client")
    @blp.alt_response(404, schema="Error", description="No such run for this client")
    @blp.alt_response(422, schema="Error",
                      description="A manifest field, a form's field or an E2B value named, "
                                  "and why: nothing stored")
    def post(self, body: dict[str, Any], run_id: uuid.UUID) -> Any:
        """Store one file of the legacy export (SAE forms or an E2B batch) with its manifest
        fields, each report received when it originally was; processed after live reports
        (the low-priority queue)."""
        principal = _migration_client()
        run = _run(run_id)
        xml = "e2b" in body
        try:
            entry = submission_entry(body["manifest"], xml=xml,
                                     name=body.get("name") or ("e2b" if xml else "forms"))
        except ManifestError as exc:
            abort(422, message="Nothing was stored: " + str(exc),
                  errors={"json": {"manifest": exc.errors}})
        settings = current_app.config["SAFETY"]
        migration = api_run(settings, g.db, run, actor=principal.actor)
        dispatch = QueueDispatch(settings, relay=True, bulk=True)
        if xml:
            done = import_e2b(settings, migration, entry, body["e2b"].encode("utf-8"),
                              dispatch, path=str(entry.path))
        else:
            forms = body["forms"] if "forms" in body else [body["form"]]
            _check_forms(forms, "forms" if "forms" in body else "form")
            done = import_forms(settings, migration, entry, forms, dispatch,
                                path=str(entry.path))
        if done.errors is not None:
            abort(422, message="Nothing was stored: " + "; ".join(done.refused[:1]),
                  errors=done.errors)
        rejected = [x for x in done.lines if x.get("status") == "rejected"]
        if rejected:
            _rejected(rejected[0])
        return {"submission": done.item, "reconciliation_url": url_for(
                    "migrations.MigrationReconciliation", run_id=run.id),
                "reports": [{"report_id": x["report_id"], "status": x["status"],
                             "message_id": x.get("message_id"),
                             "status_url": url_for("reports.ReportItem",
                                                   report_id=x["report_id"])}
                            for x in done.lines if "report_id" in x]}


def _check_forms(forms: list[Any], key: str) -> None:
    """Every form by its contract before anything is stored: 422 naming each bad field."""
    errors: dict[str, Any] = {}
    for i, form in enumerate(forms):
        try:
            SAE_FORM.load(form)
        except ValidationError as err:
            errors[str(i) if key == "forms" else key] = err.messages
    if errors:
        abort(422, message="Nothing was stored: invalid form",
              errors={"json": {key: errors} if key == "forms" else errors})


def _rejected(line: dict[str, Any]) -> NoReturn:
    url = url_for("reports.ReportItem", report_id=line["report_id"])
    abort(400, message=f"{line['error']} (stored as sent, rejected: {url})",
          errors={"json": {"e2b": [line["error"]]}}, headers={"Location": url})


@blp.route("/<uuid:run_id>/reconciliation")
class MigrationReconciliation(MethodView):
    @blp.response(200, MigrationReconciliationSchema)
    @blp.alt_response(401, schema="Error", description="Unknown or revoked token")
    @blp.alt_response(403, schema="Error", description="Not a migration client")
    @blp.alt_response(404, schema="Error", description="No such run for this client")
    def get(self, run_id: uuid.UUID) -> Any:
        """Every report of the run accounted for: submissions and reports in, cases out (new
        cases, follow-ups, re-sends, held, rejected, failed), duplicates flagged, obligations
        recorded as already submitted, dates changed (must be 0), and what is unaccounted
        (still waiting: ask again later)."""
        _migration_client()
        run = _run(run_id)
        items = run_items(g.db, run.id)
        files = [FileIn(f"submission {n}", len(ids), ids) for n, ids in sorted(items.items())]
        ids = [rid for f in files for rid in f.stored]
        today = datetime.now(current_app.config["SAFETY"].zone).date()
        rec = reconcile(g.db, files, today).as_dict()
        return {"settled": settled(g.db, ids) if ids else 0, "reconciliation": rec}

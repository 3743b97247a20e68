"""The site portal: a site submitter sends an SAE form and follows its own site's reports.

The browser form is turned into the same JSON the API takes and validated by the same
marshmallow contract (``SAEFormSchema``); it is stored and enqueued exactly as
``POST /api/v1/reports`` does (store and commit, then enqueue). Errors come back next to the
fields they name. A site user can reach nothing outside ``/portal``, and within it only
reports of its own site (others are a 404, indistinguishable from "no such report").
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from marshmallow import ValidationError

from safety.accounts.roles import Permission
from safety.accounts.scope import Scope
from safety.intake.schemas import (
    ACTIONS_TAKEN,
    CAUSALITY,
    OUTCOMES,
    QUALIFICATIONS,
    ROLES,
    SERIOUSNESS,
    SEX,
)
from safety.intake.service import (
    SAE_FORM,
    Submitter,
    site_form_report,
    site_reports,
    submit,
    visible_report,
)
from safety.pipeline.dispatch import QueueDispatch
from safety.web.security import require, user

bp = Blueprint("web_portal", __name__, url_prefix="/portal")

EVENT_ROWS = 3
DRUG_ROWS = 3

NUMBERS = {"subject.weight_kg", "subject.height_cm", "subject.age.value"}
LIST_NUMBERS = {("drugs", "dose.value"), ("events", "ctcae_grade")}
INTEGERS = {"ctcae_grade"}
BOOLEANS = {("events", "serious"), ("drugs", "investigational")}
MULTI = {("events", "seriousness")}


def form_to_json(form: Any) -> dict[str, Any]:
    """Browser fields (``events.0.verbatim``) → the SAE form JSON; blank fields are absent.

    Values are passed through as typed as the browser allows, so that the schema, not this
    function, decides what is valid and says why.
    """
    out: dict[str, Any] = {}
    lists: dict[str, dict[int, dict[str, Any]]] = {"events": {}, "drugs": {}}
    for name in form:
        parts = name.split(".")
        if parts[0] in lists and len(parts) >= 3 and parts[1].isdigit():
            section, index, rest = parts[0], int(parts[1]), ".".join(parts[2:])
            if (section, rest) in MULTI:
                values = [v for v in form.getlist(name) if v]
                if values:
                    lists[section].setdefault(index, {})[rest] = values
                continue
            value = form.get(name, "").strip()
            if not value:
                continue
            if (section, rest) in BOOLEANS:
                typed: Any = value == "true"
            elif (section, rest) in LIST_NUMBERS:
                typed = _number(value, integer=rest in INTEGERS)
            else:
                typed = value
            _put(lists[section].setdefault(index, {}), rest.split("."), typed)
            continue
        if name in ("csrf_token",):
            continue
        value = form.get(name, "").strip()
        if not value:
            continue
        _put(out, parts, _number(value) if name in NUMBERS else value)
    for section, items in lists.items():
        # The only required key of an event is its term; only a causality drug means
        # nothing alone, so an item with only these defaults is a blank row.
        rows = [items[i] for i in sorted(items)]
        for row in rows:
            drug = row.pop("causality_drug", None)
            assessment = row.pop("causality_assessment", None)
            if drug or assessment:
                row["causality"] = [{"drug": drug or "", "assessment": assessment or ""}]
        rows = [r for r in rows if r]
        if rows:
            out[section] = rows
    return out


def _number(value: str, integer: bool = False) -> Any:
    try:
        return int(value) if integer else float(value)
    except ValueError:
        return value


def _put(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors → ``{"events.0.verbatim": [...]}`` to match field names."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(flatten_errors(value, f"{prefix}.{i}"))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def _error_key(name: str) -> str:
    """Causality errors point at ``events.N.causality.0.drug``; the form shows one row."""
    return (name.replace(".causality.0.drug", ".causality_drug")
                .replace(".causality.0.assessment", ".causality_assessment"))


def _scope(me: Any) -> Scope:
    site = me.site
    return Scope(sponsor_ids=frozenset({site.sponsor_id}) if site else frozenset(),
                 site_id=me.site_id)


def _choices() -> dict[str, Any]:
    return {"sex": list(SEX), "outcomes": list(OUTCOMES), "qualifications": list(QUALIFICATIONS),
            "roles": list(ROLES), "actions": list(ACTIONS_TAKEN), "seriousness": SERIOUSNESS,
            "causality": CAUSALITY, "event_rows": range(EVENT_ROWS),
            "drug_rows": range(DRUG_ROWS)}


@bp.get("")
@require(Permission.SUBMIT_REPORTS)
def index() -> Any:
    me = user()
    return render_template("web/portal_index.html", reports=site_reports(g.db, _scope(me)),
                           site=me.site)


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.SUBMIT_REPORTS)
def new_report() -> Any:
    me = user()
    if request.method == "GET":
        return render_template("web/portal_form.html", values={}, errors={}, **_choices())
    body = form_to_json(request.form)
    try:
        SAE_FORM.load(body)
    except ValidationError as err:
        errors = {_error_key(k): v for k, v in flatten_errors(err.messages).items()}
        return render_template("web/portal_form.html", values=request.form, errors=errors,
                               **_choices()), 422
    settings = current_app.config["SAFETY"]
    if me.site is None:
        abort(404)
    submitter = Submitter(actor=me.actor, sender=f"site:{me.site_id}", site_id=me.site_id,
                          sponsor_id=me.site.sponsor_id)
    accepted = submit(settings.effective_database_url, [site_form_report(submitter, body)],
                      submitter, QueueDispatch(settings))
    report = visible_report(g.db, accepted[0].report.id, _scope(me))
    assert report is not None
    flash(f"Report {report.sender_case_id} received at "
          f"{report.received_at:%Y-%m-%d %H:%M:%S} UTC.")
    return redirect(url_for("web_portal.report", report_id=report.id), code=303)


@bp.get("/reports/<uuid:report_id>")
@require(Permission.SUBMIT_REPORTS)
def report(report_id: uuid.UUID) -> Any:
    row = visible_report(g.db, report_id, _scope(user()))
    if row is None:
        abort(404)
    return render_template("web/portal_report.html", report=row,
                           submitted=json.dumps(row.payload, indent=2, ensure_ascii=False))

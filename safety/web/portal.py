"""The site portal: a site submitter sends an SAE form, follows its own site's reports, answers
the safety team's questions and sends follow-ups without retyping.

The browser form is turned into the same JSON the API takes and validated by the same
marshmallow contract (``SAEFormSchema``); it is stored and enqueued exactly as
``POST /api/v1/reports`` does (store and commit, then enqueue). Every error comes back at the
field it names (``sae_layout`` is the list of fields the page shows; an error for anything
else is placed on the nearest field shown, never dropped). What the user types is kept on the
server as a draft while they type (htmx) and when their session ends under a submit, so nothing
typed is lost. A site user can reach nothing outside ``/portal``, and within it only its own
site's reports and questions (others are a 404, indistinguishable from "no such thing").
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from werkzeug.datastructures import MultiDict

from safety.accounts.roles import Permission
from safety.accounts.scope import Scope
from safety.accounts.users import get_user
from safety.intake.service import (
    SAE_FORM,
    FollowUpRefused,
    Submitter,
    answer_versions,
    discard_draft,
    draft_fields,
    follow_up_body,
    last_sent,
    report_case,
    save_draft,
    send_follow_up,
    site_form_report,
    site_questions,
    site_reports,
    submit,
    visible_report,
)
from safety.pipeline.dispatch import QueueDispatch
from safety.products.service import study_context, study_protocols
from safety.questions.service import answer, visible_question
from safety.questions.status import QuestionError, QuestionStatus
from safety.web import sae_layout as layout
from safety.web.security import EXPIRED_POST_KEEPERS, require, user

bp = Blueprint("web_portal", __name__, url_prefix="/portal")

NULL_FLAVOUR = re.compile(r"^nullFlavor:(MSK|ASKU|NASK|UNK)$")
NOT_FORM = {"csrf_token", "add", "draft_key", "question", "answer_text"}
NEW_FORM = "new"


@dataclass
class Parsed:
    """The form as the API's JSON, and where each list item came from on the page."""

    body: dict[str, Any]
    rows: dict[str, list[int]] = field(default_factory=dict)  # JSON index -> page row
    slots: dict[tuple[int, int], int] = field(default_factory=dict)  # (event row, k) -> drug
    errors: dict[str, list[str]] = field(default_factory=dict)  # found before the schema


def _typed(kind: str, form: Any, name: str) -> Any:
    if kind == "multi":
        values = [v for v in form.getlist(name) if v]
        return values or None
    value = (form.get(name) or "").strip()
    if not value:
        return None
    if kind == "yesno":
        return {"true": True, "false": False}.get(value, value)
    if kind in ("number", "integer"):
        try:
            return int(value) if kind == "integer" else float(value)
        except ValueError:
            return value  # the schema says why it is not a number, at the field
    flavour = NULL_FLAVOUR.match(value)
    return {"nullFlavor": flavour.group(1)} if flavour else value


def _put(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def parse_form(form: Any) -> Parsed:
    """Browser fields (``events.0.verbatim``) → the SAE form JSON; blank fields and blank rows
    are absent. Values are passed through as typed as the browser allows, so that the
    schema, not this function, decides what is valid and says why."""
    kinds = layout.typed_fields()
    out: dict[str, Any] = {}
    items: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in layout.REPEATED}
    causality: dict[int, dict[int, str]] = {}
    methods: dict[tuple[int, int], str] = {}
    for name in dict.fromkeys(form.keys()):
        if name in NOT_FORM or name.startswith("rows."):
            continue
        parts = name.split(".")
        if parts[0] in items and len(parts) >= 3 and parts[1].isdigit():
            section, row, rest = parts[0], int(parts[1]), ".".join(parts[2:])
            if section == "events" and parts[2] == "causality" and len(parts) == 4 \
                    and parts[3].isdigit():
                assessment = (form.get(name) or "").strip()
                if assessment:
                    causality.setdefault(row, {})[int(parts[3])] = assessment
                continue
            if section == "events" and parts[2] == "causality" and len(parts) == 5 \
                    and parts[3].isdigit() and parts[4] == "method":
                method = (form.get(name) or "").strip()
                if method:
                    methods[(row, int(parts[3]))] = method
                continue
            value = _typed(kinds[section].get(rest, "text"), form, name)
            if value is not None:
                _put(items[section].setdefault(row, {}), rest.split("."), value)
            continue
        section = parts[0] if len(parts) > 1 and parts[0] in kinds else ""
        rest = ".".join(parts[1:]) if section else name
        value = _typed(kinds[section].get(rest, "text"), form, name)
        if value is not None:
            _put(out, parts, value)
    parsed = Parsed(out)
    drugs = items["drugs"]
    for event_row, assessed in causality.items():
        event = items["events"].setdefault(event_row, {})
        links: list[dict[str, str]] = []
        for drug_row, assessment in sorted(assessed.items()):
            drug = drugs.get(drug_row, {})
            ref = drug.get("ref") or drug.get("name")
            if not ref:
                parsed.errors[layout.causality_name(event_row, drug_row)] = [
                    f"Drug {drug_row + 1} has no name: name the drug, or clear this "
                    "assessment."]
                continue
            parsed.slots[(event_row, len(links))] = drug_row
            link = {"drug": ref, "assessment": assessment}
            if (event_row, drug_row) in methods:  # how it was assessed, kept with the cell
                link["method"] = methods[(event_row, drug_row)]
            links.append(link)
        if links:
            event["causality"] = links
    for section, rows in items.items():
        kept = [i for i in sorted(rows) if rows[i]]
        parsed.rows[section] = kept
        if kept:
            out[section] = [rows[i] for i in kept]
    return parsed


def form_to_json(form: Any) -> dict[str, Any]:
    return parse_form(form).body


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


def place_errors(flat: dict[str, list[str]], parsed: Parsed,
                 shown: list[str]) -> dict[str, list[str]]:
    """Each error at a field the page shows: list items back at their page rows, causality
    at its event × drug cell, a nested object (``study``, ``subject.age``) at its first
    field; anything else in the box at the top, named, so that the count at the top and the
    marks on the page always agree."""
    visible = set(shown)
    out: dict[str, list[str]] = {k: list(v) for k, v in parsed.errors.items()}
    for key, messages in flat.items():
        parts = key.split(".")
        if parts[0] in parsed.rows and len(parts) > 1 and parts[1].isdigit():
            rows = parsed.rows[parts[0]]
            json_row = int(parts[1])
            page_row = rows[json_row] if json_row < len(rows) else json_row
            parts[1] = str(page_row)
            if parts[0] == "events" and len(parts) >= 4 and parts[2] == "causality" \
                    and parts[3].isdigit():
                drug_row = parsed.slots.get((page_row, int(parts[3])))
                if drug_row is not None:
                    parts = layout.causality_name(page_row, drug_row).split(".")
        name = ".".join(parts)
        if name not in visible:
            inside = next((s for s in shown if s.startswith(name + ".")), None)
            if inside is not None:
                name = inside
            else:
                messages = [f"{key}: {m}" for m in messages]
                name = "_schema"
        out.setdefault(name, []).extend(messages)
    return out


def _number_text(value: float | int) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def payload_to_form(payload: dict[str, Any]) -> MultiDict[str, str]:
    """A sent SAE form (JSON) as the page's fields: the inverse of :func:`parse_form`, so a
    follow-up starts from exactly what the site sent last."""
    out: MultiDict[str, str] = MultiDict()

    def walk(prefix: str, obj: dict[str, Any]) -> None:
        for key, value in obj.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and set(value) == {"nullFlavor"}:
                out.add(name, f"nullFlavor:{value['nullFlavor']}")
            elif isinstance(value, dict):
                walk(name, value)
            elif isinstance(value, bool):
                out.add(name, "true" if value else "false")
            elif isinstance(value, int | float):
                out.add(name, _number_text(value))
            elif isinstance(value, list) and not prefix and key in layout.REPEATED:
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        walk(f"{key}.{i}", {k: v for k, v in item.items() if k != "causality"})
            elif isinstance(value, list):
                for item in value:
                    out.add(name, str(item))
            elif value is not None:
                out.add(name, str(value))

    walk("", {k: v for k, v in payload.items() if k != "report_type"})
    drugs = payload.get("drugs") or []
    for i, event in enumerate(payload.get("events") or []):
        for link in event.get("causality") or [] if isinstance(event, dict) else []:
            j = next((j for j, d in enumerate(drugs) if link.get("drug") in
                      (d.get("ref"), d.get("name"))), None)
            if j is not None:
                out[layout.causality_name(i, j)] = str(link.get("assessment", ""))
                if link.get("method"):  # set through the API: the follow-up keeps it
                    out[layout.causality_method_name(i, j)] = str(link["method"])
    return out


def _rows(values: Any, add: str | None = None) -> dict[str, int]:
    """Rows per repeated section: the default, or as many as the values use, plus one the
    user asked to add."""
    rows = {}
    for name, section in layout.REPEATED.items():
        used = [int(k.split(".")[1]) for k in values.keys()
                if k.startswith(name + ".") and k.split(".")[1].isdigit()]
        if name == "drugs":  # a causality cell names its drug's row
            used += [int(k.split(".")[3]) for k in values.keys()
                     if k.startswith("events.") and k.count(".") == 3
                     and k.split(".")[2] == "causality" and k.split(".")[3].isdigit()]
        count = max(section.rows, max(used) + 1 if used else 0)
        if add == name:
            count += 1
        rows[name] = min(count, layout.MAX_ROWS)
    return rows


def _scope(me: Any) -> Scope:
    site = me.site
    return Scope(sponsor_ids=frozenset({site.sponsor_id}) if site else frozenset(),
                 site_id=me.site_id)


def _submitter(me: Any) -> Submitter:
    if me.site is None:
        abort(404)
    return Submitter(actor=me.actor, sender=f"site:{me.site_id}", site_id=me.site_id,
                     sponsor_id=me.site.sponsor_id)


def _render_form(values: Any, errors: dict[str, list[str]], *, status: int = 200,
                 add: str | None = None, **extra: Any) -> Any:
    me = user()
    rows = _rows(values, add)
    sponsor_id = me.site.sponsor_id if me.site else None
    protocol = values.get("study.protocol_number", "")
    ctx = {
        "values": values, "errors": errors, "layout": layout, "rows": rows,
        "problems": len(errors), "draft_key": extra.pop("draft_key", NEW_FORM),
        "protocols": study_protocols(g.db, sponsor_id) if sponsor_id else [],
        "study": study_context(g.db, sponsor_id, protocol) if sponsor_id and protocol
        else None,
        "idle_seconds": current_app.config["SAFETY"].web_idle_minutes * 60,
        "followup": None, "question": None, "protocol": protocol, **extra,
    }
    return render_template("web/portal_form.html", **ctx), status


def _validate(form: Any) -> tuple[Parsed, dict[str, list[str]]]:
    parsed = parse_form(form)
    shown = layout.field_names(_rows(form))
    try:
        SAE_FORM.load(parsed.body)
        flat: dict[str, list[str]] = {}
    except ValidationError as err:
        flat = flatten_errors(err.messages)
    return parsed, place_errors(flat, parsed, shown)


def _keep_draft(me: Any, key: str, form: Any) -> None:
    if me.site is None:
        return
    save_draft(g.db, user_id=me.id, sponsor_id=me.site.sponsor_id, site_id=me.site_id,
               form_key=key, fields=[(k, v) for k, v in form.items(multi=True)])


def _restored(me: Any, key: str) -> MultiDict[str, str] | None:
    pairs = draft_fields(g.db, me.id, key)
    if pairs is None:
        return None
    flash("Your unsent draft of this form was restored. Discard it to start again.")
    return MultiDict([(k, v) for k, v in pairs])


@bp.get("")
@require(Permission.SUBMIT_REPORTS)
def index() -> Any:
    me = user()
    scope = _scope(me)
    return render_template("web/portal_index.html", reports=site_reports(g.db, scope),
                           questions=site_questions(g.db, scope, open_only=True),
                           site=me.site, today=_today(), versions={})


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.SUBMIT_REPORTS)
def new_report() -> Any:
    me = user()
    if request.method == "GET":
        values = _restored(me, NEW_FORM) or MultiDict()
        return _render_form(values, {})
    if request.form.get("add") in layout.REPEATED:
        _keep_draft(me, NEW_FORM, request.form)
        return _render_form(request.form, {}, add=request.form["add"])
    parsed, errors = _validate(request.form)
    if errors:
        _keep_draft(me, NEW_FORM, request.form)
        return _render_form(request.form, errors, status=422)
    submitter = _submitter(me)
    settings = current_app.config["SAFETY"]
    accepted = submit(settings.effective_database_url,
                      [site_form_report(submitter, parsed.body)], submitter,
                      QueueDispatch(settings))
    discard_draft(g.db, me.id, NEW_FORM)
    return _received(accepted[0].report.id)


def _received(report_id: uuid.UUID) -> Any:
    report = visible_report(g.db, report_id, _scope(user()))
    assert report is not None
    flash(f"Report {report.sender_case_id} received at "
          f"{report.received_at:%Y-%m-%d %H:%M:%S} UTC.")
    return redirect(url_for("web_portal.report", report_id=report.id), code=303)


def _followup_key(sae_id: str) -> str:
    return f"followup:{sae_id}"[:100]


def _question_arg(scope: Scope, raw: str | None, sae_id: str) -> Any:
    """The open question of this SAE that a follow-up answers (404 for anything else)."""
    if not raw:
        return None
    try:
        question_id = uuid.UUID(raw)
    except ValueError:
        abort(404)
    q = visible_question(g.db, question_id, scope, lock=request.method == "POST")
    if q is None or q.sender_case_id != sae_id:
        abort(404)
    return q


@bp.route("/reports/<uuid:report_id>/follow-up", methods=["GET", "POST"])
@require(Permission.SUBMIT_REPORTS)
def follow_up(report_id: uuid.UUID) -> Any:
    """The form pre-filled with what the site sent last of this SAE, sent only as a new
    version of it (same SAE id, report type follow-up)."""
    me = user()
    scope = _scope(me)
    last = last_sent(g.db, report_id, scope)
    if last is None or last.sender_case_id is None:
        abort(404)
    sae_id = last.sender_case_id
    key = _followup_key(sae_id)
    q = _question_arg(scope, request.values.get("question"), sae_id)
    extra = {"followup": last, "question": q, "draft_key": key}
    if request.method == "GET":
        values = _restored(me, key) or payload_to_form(last.payload)
        return _render_form(values, {}, **extra)
    if request.form.get("add") in layout.REPEATED:
        _keep_draft(me, key, request.form)
        return _render_form(request.form, {}, add=request.form["add"], **extra)
    parsed, errors = _validate(request.form)
    body = parsed.body
    if not errors:
        try:
            body = follow_up_body(last, parsed.body)
        except FollowUpRefused as refused:
            errors = refused.errors
    if not errors and q is not None and q.status != QuestionStatus.OPEN:
        errors = {"_schema": [f"The question is {q.status} now: send the follow-up without "
                              "it, or go back to your reports."]}
    if errors:
        _keep_draft(me, key, request.form)
        return _render_form(request.form, errors, status=422, **extra)
    settings = current_app.config["SAFETY"]
    accepted = send_follow_up(g.db, settings.effective_database_url, _submitter(me), body,
                              QueueDispatch(settings), question=q,
                              answer_text=request.form.get("answer_text"))
    discard_draft(g.db, me.id, key)
    return _received(accepted.report.id)


@bp.get("/reports/<uuid:report_id>")
@require(Permission.SUBMIT_REPORTS)
def report(report_id: uuid.UUID) -> Any:
    scope = _scope(user())
    row = visible_report(g.db, report_id, scope)
    if row is None:
        abort(404)
    questions = site_questions(g.db, scope, sae_id=row.sender_case_id) \
        if row.sender_case_id else []
    sent = row.payload if row.channel == "site_form" and isinstance(row.payload, dict) else {}
    return render_template(
        "web/portal_report.html", report=row, case=report_case(g.db, row),
        questions=questions, versions=answer_versions(g.db, questions), today=_today(),
        values=payload_to_form(sent), layout=layout, rows=_rows(payload_to_form(sent)),
        can_follow_up=last_sent(g.db, row.id, scope) is not None)


@bp.route("/questions/<uuid:question_id>", methods=["GET", "POST"])
@require(Permission.SUBMIT_REPORTS)
def question(question_id: uuid.UUID) -> Any:
    """A question from the safety team: answer it in words here, or with a follow-up."""
    scope = _scope(user())
    q = visible_question(g.db, question_id, scope, lock=request.method == "POST")
    if q is None:
        abort(404)
    latest = next(iter(site_reports(g.db, scope, sae_id=q.sender_case_id)), None) \
        if q.sender_case_id else None
    error = None
    if request.method == "POST":
        try:
            answer(g.db, q, actor=user().actor, text=request.form.get("answer_text"))
        except QuestionError as exc:
            error = exc.message
        else:
            flash("Your answer was sent to the safety team.")
            return redirect(url_for("web_portal.question", question_id=q.id), code=303)
    page = render_template("web/portal_question.html", q=q, latest=latest, error=error,
                           today=_today(), versions=answer_versions(g.db, [q]))
    return page, 422 if error else 200


@bp.post("/draft")
@require(Permission.SUBMIT_REPORTS)
def autosave() -> Any:
    """htmx saves the form as the user types (and the session stays alive while they do)."""
    me = user()
    key = request.form.get("draft_key", "")
    if key != NEW_FORM and not key.startswith("followup:"):
        abort(400)
    try:
        _keep_draft(me, key, request.form)
    except ValueError as exc:
        return render_template("web/_draft_status.html", error=str(exc)), 413
    return render_template("web/_draft_status.html", error=None,
                           saved=datetime.now(UTC))


@bp.post("/draft/discard")
@require(Permission.SUBMIT_REPORTS)
def discard() -> Any:
    me = user()
    key = request.form.get("draft_key", "")
    discard_draft(g.db, me.id, key)
    flash("Draft discarded.")
    target = request.form.get("next", "")
    if not target.startswith("/portal") or target.startswith("//"):
        target = url_for("web_portal.new_report")
    return redirect(target, code=303)


@bp.get("/study")
@require(Permission.SUBMIT_REPORTS)
def study() -> Any:
    """The study's IND/CTA context from the registry, for the protocol typed (htmx)."""
    me = user()
    protocol = request.args.get("study.protocol_number", "").strip()
    context = study_context(g.db, me.site.sponsor_id, protocol) if me.site and protocol \
        else None
    return render_template("web/_study_context.html", study=context, protocol=protocol)


def _today() -> Any:
    return datetime.now(current_app.config["SAFETY"].zone).date()


def _keep_expired_post(user_id: int) -> None:
    """The session ended under a submit: keep what was sent as the user's draft, restored
    when they log in again (the login page sends them back to the form)."""
    me = get_user(g.db, user_id)
    key = request.form.get("draft_key", NEW_FORM)
    if me is None or me.site is None or (key != NEW_FORM and not key.startswith("followup:")):
        return
    _keep_draft(me, key, request.form)


for _endpoint in ("web_portal.new_report", "web_portal.follow_up", "web_portal.autosave"):
    EXPIRED_POST_KEEPERS[_endpoint] = _keep_expired_post

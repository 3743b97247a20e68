"""What the safety team reads and hands on from its pages: the CIOMS I form of a case, an E2B
message made readable (and its file), the line listing of the queue as filtered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from flask import Blueprint, Response, abort, current_app, g, render_template, request

from safety.accounts.roles import Permission
from safety.blinding.audience import Audience, BlindingError, parse_audience
from safety.blinding.outputs import BlindLeak
from safety.cases.service import find_case
from safety.review.outputs import cioms1_pdf, line_listing_file, message_file, readable_message
from safety.review.unblinding import UnblindedNotPermitted, regulator_message_refused
from safety.web.cases import _filters
from safety.web.security import require, role_for_case, user

if TYPE_CHECKING:
    from safety.cases.store import Case

bp = Blueprint("web_outputs", __name__)


def _visible_case(case_id: uuid.UUID) -> Case:
    """A case of a sponsor the user works for (404 otherwise, as for no case at all)."""
    case = find_case(g.db, case_id)
    if case is None or role_for_case(case.sponsor_id) is None:
        abort(404)
    return case


def _regulator_message_case(case_id: uuid.UUID) -> Case:
    """A visible case whose regulator messages this user may read (403 for a blinded user of
    a blinded study: the messages are the regulator's, unblinded)."""
    case = _visible_case(case_id)
    refused = regulator_message_refused(g.db, case, user())
    if refused is not None:
        abort(403, description=f"Not shown: {refused}.")
    return case


def _today() -> Any:
    return datetime.now(current_app.config["SAFETY"].zone).date()


def _attachment(body: bytes, media_type: str, name: str) -> Response:
    return Response(body, mimetype=media_type.split(";")[0], headers={
        "Content-Type": media_type,
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff"})


def _audience() -> tuple[Audience, bool]:
    """The document's audience (``audience``, default the study team) and whether it is asked
    unblinded (``unblinded=1``); a bad value is a 400 naming the field."""
    try:
        audience = parse_audience(request.args.get("audience") or Audience.STUDY_TEAM.value)
    except BlindingError as exc:
        abort(400, description=str(exc))
    flag = request.args.get("unblinded", "0")
    if flag not in ("0", "1"):
        abort(400, description="unblinded: use 0 or 1")
    return audience, flag == "1"


def _refused(exc: BlindingError) -> NoReturn:
    """A document that would break the blind: 403 for a user without ``unblind``, 409 when
    the mask could not keep the blind, 400 for a request a blind audience may not have."""
    code = 403 if isinstance(exc, UnblindedNotPermitted) else (
        409 if isinstance(exc, BlindLeak) else 400)
    abort(code, description=f"Not produced: {exc}.")


@bp.get("/cases/<uuid:case_id>/cioms1.pdf")
@require(Permission.VIEW_CASES)
def cioms1(case_id: uuid.UUID) -> Any:
    """The CIOMS I form of the current version (the API's, as a download), for its audience:
    blinded for a blinded study unless an unblinded document is asked for a regulator or the
    DSMB by the unblinded role after the reveal."""
    audience, unblinded = _audience()
    try:
        name, pdf = cioms1_pdf(g.db, _visible_case(case_id), _today(), audience=audience,
                               user=user(), unblinded=unblinded)
    except BlindingError as exc:
        _refused(exc)
    return _attachment(pdf, "application/pdf", name)


@bp.get("/cases/<uuid:case_id>/submissions/<uuid:submission_id>")
@require(Permission.VIEW_CASES)
def message(case_id: uuid.UUID, submission_id: uuid.UUID) -> Any:
    """An E2B message element by element, with the meanings of its codes."""
    case = _regulator_message_case(case_id)
    shown = readable_message(g.db, case, submission_id, current_app.config["SAFETY"])
    if shown is None:
        abort(404)
    return render_template("web/message.html", case=case, sub=shown.submission,
                           messages=shown.messages)


@bp.get("/cases/<uuid:case_id>/submissions/<uuid:submission_id>/download")
@require(Permission.VIEW_CASES)
def message_download(case_id: uuid.UUID, submission_id: uuid.UUID) -> Any:
    """The message file exactly as the gateway gets it, to save."""
    found = message_file(g.db, _regulator_message_case(case_id), submission_id)
    if found is None:
        abort(404)
    name, xml = found
    return _attachment(xml, "application/xml; charset=utf-8", name)


@bp.get("/queue/line-listing.<fmt>")
@require(Permission.VIEW_CASES)
def line_listing(fmt: str) -> Any:
    """The queue's cases under the same filters, as a CIOMS II line listing."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    audience, unblinded = _audience()
    try:
        name, media_type, body = line_listing_file(
            g.db, _filters(request.args, user().id), _today(), fmt, audience=audience,
            user=user(), unblinded=unblinded)
    except BlindingError as exc:
        _refused(exc)
    return _attachment(body, media_type, name)

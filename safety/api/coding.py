"""``PUT /api/v1/cases/{id}/events/{reaction_id}/coding``: a physician's coding decision."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import require_client
from safety.api.cases import get_visible_case
from safety.api.errors import abort
from safety.review.coding import CodingDecisionFailed, decide_event_coding

blp = Blueprint("coding_review", __name__, url_prefix="/api/v1/cases",
                description="Coding decisions on a case's events.")


class CodingDecisionSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{8}$",
                                                                 error="an 8-digit code"))
    reason = fields.String(required=True, validate=validate.Length(1, 2000))
    add_synonym = fields.Boolean(load_default=False, metadata={
        "description": "Also teach the autocoder this verbatim → code (team synonym)."})


class CodedTermSchema(Schema):
    verbatim = fields.String(allow_none=True)
    code = fields.String()
    term = fields.String()
    level = fields.String()
    pt_code = fields.String(allow_none=True)
    pt_term = fields.String(allow_none=True)
    soc_code = fields.String(allow_none=True)
    family = fields.String()
    version = fields.String()
    method = fields.String()
    confirmed_by = fields.String()


@blp.route("/<uuid:case_id>/events/<reaction_id>/coding")
class EventCoding(MethodView):
    @blp.arguments(CodingDecisionSchema)
    @blp.response(200, CodedTermSchema)
    @blp.alt_response(403, description="Only the safety team codes")
    @blp.alt_response(404, description="No such case or event")
    @blp.alt_response(422, description="Unknown or non-current code")
    def put(self, args: dict[str, Any], case_id: uuid.UUID, reaction_id: str) -> Any:
        """Set the code of one event of the case's current version (audited)."""
        principal = require_client()
        if not principal.safety_team:
            abort(403, message="Only the safety team may code events.")
        case = get_visible_case(case_id)
        try:
            term = decide_event_coding(g.db, case, reaction_id, args["code"], principal.actor,
                                       args["reason"], args["add_synonym"],
                                       settings=current_app.config["SAFETY"])
        except LookupError as exc:
            abort(404, message=str(exc))
        except CodingDecisionFailed as exc:
            abort(422, errors={"json": {"code": [str(exc)]}})
        return term

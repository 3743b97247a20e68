"""``/api/v1/cases``: the cases a client may see (a site sees only its own)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import require_client
from safety.api.errors import abort
from safety.cases.service import detail, find_case, list_cases, summary
from safety.cases.workflow import CaseState
from safety.review.unblinding import blinded_detail

if TYPE_CHECKING:
    from safety.cases.store import Case

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases",
                description="Cases and their versions.")


MAX_PAGE = 1_000_000


class CaseListArgs(Schema):
    state = fields.String(validate=validate.OneOf([s.value for s in CaseState]))
    # Bounded so that the offset, (page - 1) * per_page, fits the database's 64-bit integer.
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class VersionSchema(Schema):
    version = fields.Integer()
    kind = fields.String()
    report_id = fields.String()
    received_at = fields.DateTime()
    pipeline = fields.String()
    stages = fields.Dict()


class CaseSummarySchema(Schema):
    case_id = fields.String()
    case_number = fields.String()
    worldwide_case_id = fields.String()
    sender_case_id = fields.String()
    state = fields.String()
    serious = fields.Boolean(allow_none=True)
    current_version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CaseListSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CaseDetailSchema(CaseSummarySchema):
    versions = fields.List(fields.Nested(VersionSchema))
    data = fields.Dict(metadata={"description": "The current version in the case JSON form."})


def get_visible_case(case_id: uuid.UUID, *, lock: bool = False) -> Case:
    """The case, or 404 when it does not exist or the client may not see it (no leak)."""
    case = find_case(g.db, case_id, lock=lock, scope=require_client().scope)
    if case is None:
        abort(404, message="No such case.")
    return case


@blp.route("")
class CaseList(MethodView):
    @blp.arguments(CaseListArgs, location="query")
    @blp.response(200, CaseListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Cases visible to this client, newest first."""
        page, per_page = args["page"], args["per_page"]
        rows, total = list_cases(g.db, require_client().scope, state=args.get("state"),
                                 page=page, per_page=per_page)
        return {"items": [summary(c) for c in rows], "total": total, "page": page,
                "per_page": per_page}


@blp.route("/<uuid:case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseDetailSchema)
    @blp.alt_response(404, description="No such case for this client")
    def get(self, case_id: uuid.UUID) -> Any:
        """One case: its versions and the data of the current version."""
        case = get_visible_case(case_id)
        return blinded_detail(g.db, case, detail(g.db, case))

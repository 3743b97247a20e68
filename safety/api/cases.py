"""``/api/v1/cases``: the cases a client may see (a site sees only its own)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from safety.api.auth import Principal, require_client
from safety.cases.store import Case, CaseVersion

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases",
                description="Cases and their versions.")


class CaseListArgs(Schema):
    state = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
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


def summary(case: Case) -> dict[str, Any]:
    return {
        "case_id": str(case.id),
        "case_number": case.case_number,
        "worldwide_case_id": case.worldwide_case_id,
        "sender_case_id": case.sender_case_id,
        "state": case.state,
        "serious": case.serious,
        "current_version": case.current_version,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def visible_cases(principal: Principal) -> Any:
    stmt = select(Case)
    if principal.role != "safety":
        stmt = stmt.where(Case.site_id == principal.site_id)
    return stmt


def get_visible_case(case_id: uuid.UUID) -> Case:
    """The case, or 404 when it does not exist or the client may not see it (no leak)."""
    principal = require_client()
    case = g.db.get(Case, case_id)
    if case is None or not principal.can_see_site(case.site_id):
        abort(404, message="No such case.")
    return case


@blp.route("")
class CaseList(MethodView):
    @blp.arguments(CaseListArgs, location="query")
    @blp.response(200, CaseListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Cases visible to this client, newest first."""
        stmt = visible_cases(require_client())
        if args.get("state"):
            stmt = stmt.where(Case.state == args["state"])
        total = g.db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        page, per_page = args["page"], args["per_page"]
        rows = g.db.execute(
            stmt.order_by(Case.created_at.desc()).offset((page - 1) * per_page).limit(per_page)
        ).scalars()
        return {"items": [summary(c) for c in rows], "total": total, "page": page,
                "per_page": per_page}


@blp.route("/<uuid:case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseDetailSchema)
    @blp.alt_response(404, description="No such case for this client")
    def get(self, case_id: uuid.UUID) -> Any:
        """One case: its versions and the data of the current version."""
        case = get_visible_case(case_id)
        versions = g.db.execute(
            select(CaseVersion).where(CaseVersion.case_id == case.id)
            .order_by(CaseVersion.version)
        ).scalars().all()
        out = summary(case)
        out["versions"] = [
            {"version": v.version, "kind": v.kind, "report_id": str(v.report_id),
             "received_at": v.received_at, "pipeline": v.pipeline, "stages": v.stages or {}}
            for v in versions
        ]
        out["data"] = versions[-1].data if versions else {}
        return out

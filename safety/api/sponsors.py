"""``/api/v1/sponsors``: the sponsors a client works for and their settings (read only).

A client sees only its own sponsors; another sponsor's code answers 404, as an unknown one
does. A site's client sees who its sponsor is, not the sponsor's gateway and sender settings
(the safety team's business). Sponsors are added and configured by administrators
(``safety sponsor``, the admin page), never through a client token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from safety.api.auth import Principal, require_client
from safety.api.errors import abort
from safety.sponsors.service import SponsorError, find, show, sponsors

if TYPE_CHECKING:
    from safety.sponsors.store import Sponsor

blp = Blueprint("sponsors", __name__, url_prefix="/api/v1/sponsors",
                description="The sponsors a client works for.")


class GatewaySchema(Schema):
    sender_id = fields.String()
    batch_receiver = fields.String(allow_none=True)
    message_receiver = fields.String(allow_none=True)


class ReportingSchema(Schema):
    regulator = fields.String()
    capacity = fields.String()
    countries = fields.List(fields.String())


class PartnerSchema(Schema):
    sender = fields.String(metadata={"description": "E2B sender identifier (N.2.r.2)."})
    name = fields.String()
    role = fields.String(metadata={"description": "affiliate | licence_partner | vendor"})


class SponsorSchema(Schema):
    code = fields.String()
    name = fields.String()
    org_code = fields.String(metadata={"description": "Organisation part of C.1.8.1."})
    case_prefix = fields.String()
    timezone = fields.String(metadata={"description": "IANA zone its day 0 is counted in."})
    sender = fields.Dict(metadata={"description": "The C.3 sender block."})
    gateways = fields.Dict(keys=fields.String(), values=fields.Nested(GatewaySchema))
    reporting = fields.List(fields.Nested(ReportingSchema))
    rules = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "Its documented readings where the law is ambiguous, e.g. "
                       "uk_ct_followup (SI 2004/1031 reg. 33(2)): always | if_incomplete."})
    partners = fields.List(fields.Nested(PartnerSchema), metadata={
        "description": "E2B senders acting for it, whose receipt (C.1.4/C.1.5) starts its "
                       "clock (ICH E2D 4.1; GVP VI.B.7)."})


@blp.route("")
class SponsorList(MethodView):
    @blp.response(200, SponsorSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The sponsors this client works for, by code."""
        principal = require_client()
        return [_view(principal, s) for s in sponsors(g.db, principal.sponsor_ids)]


@blp.route("/<code>")
class SponsorDetail(MethodView):
    @blp.response(200, SponsorSchema)
    def get(self, code: str) -> dict[str, Any]:
        """One of this client's sponsors (404 for any other)."""
        principal = require_client()
        try:
            found = find(g.db, code)
        except SponsorError:
            found = None
        if found is None or found.id not in principal.sponsor_ids:
            abort(404, message=f"no sponsor {code!r}")
        return _view(principal, found)


def _view(principal: Principal, sponsor: Sponsor) -> dict[str, Any]:
    shown = show(sponsor)
    if principal.safety_team:
        return shown
    return {k: shown[k] for k in ("code", "name", "timezone")}

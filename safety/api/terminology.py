"""``/api/v1/terminology``: ranked coding suggestions for the review screen.

A sponsor's team synonyms count for the sponsor the client is bound to or names in
``X-Sponsor``; without one, only the dictionary's own synonyms. Suggestions come from the
active release in the database (MedDRA or WHODrug when a licensee loaded it, otherwise the open
dictionary) or, when none is stored, from the bundled open dictionary. The built index is kept
per release for the life of the process.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from safety.api.auth import named_sponsor, require_client
from safety.coding.service import suggest

blp = Blueprint(
    "terminology", __name__, url_prefix="/api/v1/terminology",
    description="Dictionary search and coding suggestions.",
)



class SearchArgs(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=500))
    limit = fields.Integer(load_default=5, validate=validate.Range(1, 5))


class CandidateSchema(Schema):
    code = fields.String()
    term = fields.String()
    score = fields.Float()


class SuggestionSchema(Schema):
    verbatim = fields.String()
    code = fields.String(allow_none=True)
    term = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    pt_code = fields.String(allow_none=True)
    pt_term = fields.String(allow_none=True)
    soc_code = fields.String(allow_none=True)
    soc_term = fields.String(allow_none=True)
    moiety_code = fields.String(allow_none=True)
    moiety_term = fields.String(allow_none=True)
    score = fields.Float(allow_none=True)
    method = fields.String()
    auto = fields.Boolean()
    family = fields.String(allow_none=True)
    version = fields.String(allow_none=True)
    candidates = fields.List(fields.Nested(CandidateSchema))


def _suggest(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    sponsor_id = named_sponsor(require_client())
    return suggest(g.db, kind, args["q"], args["limit"], current_app.config["SAFETY"],
                   sponsor_id=sponsor_id)


@blp.route("/events")
class EventSearch(MethodView):
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, SuggestionSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Chosen LLT (with PT and primary SOC), whether it may be auto-coded, and candidates."""
        return _suggest("events", args)


@blp.route("/drugs")
class DrugSearch(MethodView):
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, SuggestionSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Chosen substance (UNII) with its active moiety, and candidates."""
        return _suggest("drugs", args)

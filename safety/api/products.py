"""Products, studies and RSI through the API (the safety team's clients only)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from safety.api.auth import Principal, acting_sponsor, require_client
from safety.api.errors import abort
from safety.products.registry import RegistryError
from safety.products.rsi import RsiError, rsi_from_dict
from safety.products.service import import_registry, registry_from_json, registry_json
from safety.rules.rsi_update import add_rsi_version

blp = Blueprint("products", __name__, url_prefix="/api/v1/products",
                description="Products, studies and reference safety information.")


def _safety_only() -> Principal:
    principal = require_client()
    if not principal.safety_team:
        abort(403, message="Only the safety team's clients manage products.")
    return principal


@blp.route("")
class Registry(MethodView):
    @blp.response(200, description="The registry as {products, studies}.")
    def get(self) -> Any:
        """Products with their status per jurisdiction, and studies."""
        _safety_only()
        return registry_json(g.db, acting_sponsor(require_client()))

    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "{products: [...], studies: [...]}"}}}})
    @blp.response(200, description="What was imported.")
    def post(self) -> Any:
        """Insert or replace products (by id) and studies (by protocol)."""
        principal = _safety_only()
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, message="Body must be a JSON object {products, studies}.")
        try:
            reg = registry_from_json(body)
        except (RegistryError, AttributeError, TypeError) as exc:
            abort(422, errors={"json": {"registry": [str(exc)]}})
        return import_registry(g.db, reg, principal.actor, acting_sponsor(principal))


@blp.route("/rsi")
class Rsi(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "{product_id, reference (IB | label:<jurisdiction>), "
        "version, effective_from, expected_pts: [PT codes], document}"}}}})
    @blp.response(201, description="The obligations that appear or disappear for open cases.")
    def post(self) -> Any:
        """Add an RSI version; open cases are re-evaluated and the changes reported."""
        principal = _safety_only()
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, message="Body must be a JSON object.")
        try:
            version = rsi_from_dict(body, "rsi")
        except (RsiError, TypeError, ValueError) as exc:
            abort(422, errors={"json": {"rsi": [str(exc)]}})
        try:
            changes = add_rsi_version(g.db, version, current_app.config["SAFETY"],
                                      principal.actor, acting_sponsor(principal))
        except RsiError as exc:
            abort(422, errors={"json": {exc.field: [str(exc)]}})
        return {"changes": changes}, 201

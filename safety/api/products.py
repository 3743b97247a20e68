"""Products, studies and RSI through the API (the safety team's clients only)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from safety.api.auth import require_client
from safety.products.registry import (
    RegistryError,
    product_from_dict,
    registry_to_json,
    study_from_dict,
)
from safety.products.rsi import RsiError, rsi_from_dict
from safety.products.store import load_registry, save_registry

blp = Blueprint("products", __name__, url_prefix="/api/v1/products",
                description="Products, studies and reference safety information.")


def _safety_only() -> Any:
    principal = require_client()
    if principal.role != "safety":
        abort(403, message="Only the safety team's clients manage products.")
    return principal


@blp.route("")
class Registry(MethodView):
    @blp.response(200, description="The registry as {products, studies}.")
    def get(self) -> Any:
        """Products with their status per jurisdiction, and studies."""
        _safety_only()
        return registry_to_json(load_registry(g.db))

    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "{products: [...], studies: [...]}"}}}})
    @blp.response(200, description="What was imported.")
    def post(self) -> Any:
        """Insert or replace products (by id) and studies (by protocol)."""
        principal = _safety_only()
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, message="Body must be a JSON object {products, studies}.")
        from safety.audit.store import record
        from safety.products.registry import Registry as Reg

        reg = Reg()
        try:
            for i, p in enumerate(body.get("products", [])):
                reg.add_product(product_from_dict(p, f"products[{i}]"))
            for i, s in enumerate(body.get("studies", [])):
                reg.add_study(study_from_dict(s, f"studies[{i}]"))
        except (RegistryError, AttributeError, TypeError) as exc:
            abort(422, errors={"json": {"registry": [str(exc)]}})
        save_registry(g.db, reg)
        for p in reg.products.values():
            record(g.db, actor=principal.actor, action="product.saved", entity=_Entity(p.id),
                   changes=[{"field": "product", "from": None, "to": p.name}])
        return {"products": len(reg.products), "studies": len(reg.studies)}


@blp.route("/rsi")
class Rsi(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "{product_id, reference (IB | label:<jurisdiction>), "
        "version, effective_from, expected_pts: [PT codes], document}"}}}})
    @blp.response(201, description="The obligations that appear or disappear for open cases.")
    def post(self) -> Any:
        """Add an RSI version; open cases are re-evaluated and the changes reported."""
        from safety.rules.rsi_update import add_rsi_version

        principal = _safety_only()
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, message="Body must be a JSON object.")
        try:
            version = rsi_from_dict(body, "rsi")
        except (RsiError, TypeError, ValueError) as exc:
            abort(422, errors={"json": {"rsi": [str(exc)]}})
        changes = add_rsi_version(g.db, version, current_app.config["SAFETY"], principal.actor)
        return {"changes": changes}, 201


class _Entity:
    """Audit needs a table name and id; products are keyed by their own id."""

    __tablename__ = "products"

    def __init__(self, id: str) -> None:
        self.id = id

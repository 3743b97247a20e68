"""The product registry as the team maintains it: read it, import products and studies
(insert or replace, audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.products.registry import Registry, product_from_dict, registry_to_json, study_from_dict
from safety.products.store import ProductRow, StudyRow, load_registry, save_registry


def registry_json(session: Session, sponsor_id: int) -> dict[str, Any]:
    return registry_to_json(load_registry(session, sponsor_id))


def registry_from_json(body: dict[str, Any]) -> Registry:
    """``{products: [...], studies: [...]}``; ``RegistryError`` names the bad item."""
    reg = Registry()
    for i, p in enumerate(body.get("products", [])):
        reg.add_product(product_from_dict(p, f"products[{i}]"))
    for i, s in enumerate(body.get("studies", [])):
        reg.add_study(study_from_dict(s, f"studies[{i}]"))
    return reg


def import_registry(session: Session, reg: Registry, actor: str,
                    sponsor_id: int) -> dict[str, int]:
    """Insert or replace the sponsor's products (by id) and studies (by protocol), each
    audited."""
    save_registry(session, reg, sponsor_id)
    session.flush()
    for p in reg.products.values():
        record(session, actor=actor, action="product.saved",
               entity=session.get(ProductRow, (sponsor_id, p.id)),
               changes=[{"field": "product", "from": None, "to": p.name}])
    for s in reg.studies.values():
        record(session, actor=actor, action="study.saved",
               entity=session.get(StudyRow, (sponsor_id, s.protocol)),
               changes=[{"field": "study", "from": None, "to": s.title or s.protocol}])
    return {"products": len(reg.products), "studies": len(reg.studies)}

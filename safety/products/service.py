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


def study_protocols(session: Session, sponsor_id: int) -> list[tuple[str, str]]:
    """The sponsor's studies as (protocol, title), for a site to pick from."""
    reg = load_registry(session, sponsor_id)
    return sorted((s.protocol, s.title) for s in reg.studies.values())


def study_context(session: Session, sponsor_id: int, protocol: str) -> dict[str, Any] | None:
    """What the registry says of a study's regulatory context: its title, jurisdictions, US
    IND numbers and, per product, the IND/CTA numbers under which it is investigational in
    each jurisdiction (what a site copies onto its form and the team's rules read). None for
    a protocol the registry does not know."""
    reg = load_registry(session, sponsor_id)
    study = reg.studies.get(protocol.strip())
    if study is None:
        return None
    products = []
    for pid in study.products:
        p = reg.products.get(pid)
        if p is None:
            continue
        products.append({"id": p.id, "name": p.name, "placebo": p.placebo, "numbers": [
            {"jurisdiction": s.jurisdiction, "status": s.status.value,
             "numbers": list(s.numbers)} for s in p.statuses if s.numbers]})
    return {"protocol": study.protocol, "title": study.title,
            "jurisdictions": list(study.jurisdictions), "ind_numbers": list(study.ind_numbers),
            "blinded": study.blinded, "products": products}

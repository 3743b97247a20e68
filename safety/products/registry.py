"""Products and studies: what a suspect drug is, where it is investigational or authorised.

Reporting regimes depend on the regulatory status of the suspect product in each jurisdiction
(an IND/CTA makes it a clinical-trial case there; a marketing authorisation makes it a
post-marketing case) and, for trial cases, on the study's jurisdictions and blinding. These are
registry facts, not case facts, so they live here and are loaded from CSV or JSON.
"""

from __future__ import annotations

import csv
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from safety.cases.model import Drug
from safety.cases.values import NullFlavor

REGIONS_FILE = Path(__file__).with_name("data") / "regions.toml"


class RegistryError(ValueError):
    """A registry file row or object is wrong; the message names the file, row and field."""


class Status(StrEnum):
    INVESTIGATIONAL = "investigational"
    AUTHORISED = "authorised"


@dataclass(frozen=True, slots=True)
class JurisdictionStatus:
    """Status of a product in one jurisdiction (``US``, ``EU``, ``UK``, ``CA``...)."""

    jurisdiction: str
    status: Status
    numbers: tuple[str, ...] = ()  # IND/CTA numbers or MA numbers


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    substances: tuple[str, ...] = ()
    statuses: tuple[JurisdictionStatus, ...] = ()
    aliases: tuple[str, ...] = ()
    # Recorded, never guessed from a name: a kit labelled "... or matching placebo" is the
    # blinded IMP until unblinding says otherwise.
    placebo: bool = False

    def status_in(self, jurisdiction: str) -> set[Status]:
        return {s.status for s in self.statuses if s.jurisdiction == jurisdiction}


@dataclass(frozen=True, slots=True)
class Study:
    protocol: str
    jurisdictions: tuple[str, ...] = ()
    ind_numbers: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    blinded: bool = False
    title: str = ""


@dataclass(slots=True)
class Registry:
    products: Mapping[str, Product] = field(default_factory=dict)
    studies: Mapping[str, Study] = field(default_factory=dict)
    _index: dict[str, str] = field(default_factory=dict)

    def add_product(self, p: Product) -> None:
        products = self.products
        if not isinstance(products, dict):
            raise TypeError("a sealed registry cannot change (build a new one)")
        products[p.id] = p
        for name in (p.id, p.name, *p.aliases, *p.substances):
            self._index.setdefault(_norm(name), p.id)

    def add_study(self, s: Study) -> None:
        studies = self.studies
        if not isinstance(studies, dict):
            raise TypeError("a sealed registry cannot change (build a new one)")
        studies[s.protocol] = s

    def seal(self) -> Registry:
        """This registry, read-only from now on (its products and studies are frozen
        already): one read from the database is shared by every job of a worker."""
        self.products = MappingProxyType(dict(self.products))
        self.studies = MappingProxyType(dict(self.studies))
        return self

    def match_drug(self, drug: Drug) -> Product | None:
        """The registry product a case drug refers to: MPID, then product name, then substance."""
        for key in _drug_keys(drug):
            if key in self._index:
                return self.products[self._index[key]]
        return None


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _drug_keys(drug: Drug) -> Iterable[str]:
    for v in (drug.mpid, drug.name):
        if isinstance(v, str) and not isinstance(v, NullFlavor) and v:
            yield _norm(v)
    if drug.coding and drug.coding.term:
        yield _norm(drug.coding.term)
    for s in drug.substances:
        if isinstance(s.name, str) and not isinstance(s.name, NullFlavor) and s.name:
            yield _norm(s.name)


@cache
def regions() -> dict[str, frozenset[str]]:
    with REGIONS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    return {k: frozenset(v) for k, v in data["regions"].items()}


# --- loaders ------------------------------------------------------------------------------


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (value or "").split(";") if x.strip())


def _status(value: Any, where: str) -> Status:
    try:
        return Status(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise RegistryError(f"{where}: status {value!r} is not one of {allowed}") from None


def _require(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj or obj[key] in (None, ""):
        raise RegistryError(f"{where}: missing {key!r}")
    return obj[key]


def product_from_dict(obj: dict[str, Any], where: str = "product") -> Product:
    pid = str(_require(obj, "id", where))
    statuses = tuple(
        JurisdictionStatus(
            jurisdiction=str(_require(s, "jurisdiction", f"{where}.statuses[{i}]")),
            status=_status(_require(s, "status", f"{where}.statuses[{i}]"),
                           f"{where}.statuses[{i}]"),
            numbers=tuple(s.get("numbers", ())),
        )
        for i, s in enumerate(obj.get("statuses", ()))
    )
    placebo = obj.get("placebo", False)
    if not isinstance(placebo, bool):
        raise RegistryError(f"{where}.placebo: expected true or false, got {placebo!r}")
    return Product(
        id=pid, name=str(obj.get("name") or pid), substances=tuple(obj.get("substances", ())),
        statuses=statuses, aliases=tuple(obj.get("aliases", ())), placebo=placebo,
    )


def study_from_dict(obj: dict[str, Any], where: str = "study") -> Study:
    blinded = obj.get("blinded", False)
    if not isinstance(blinded, bool):
        raise RegistryError(f"{where}.blinded: expected true or false, got {blinded!r}")
    return Study(
        protocol=str(_require(obj, "protocol", where)),
        jurisdictions=tuple(obj.get("jurisdictions", ())),
        ind_numbers=tuple(obj.get("ind_numbers", ())),
        products=tuple(obj.get("products", ())),
        blinded=blinded,
        title=str(obj.get("title", "")),
    )


def load_registry_json(path: Path) -> Registry:
    """``{"products": [...], "studies": [...]}`` as written by :func:`registry_to_json`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path}: not JSON ({exc})") from exc
    reg = Registry()
    for i, p in enumerate(data.get("products", ())):
        reg.add_product(product_from_dict(p, f"{path}:products[{i}]"))
    for i, s in enumerate(data.get("studies", ())):
        reg.add_study(study_from_dict(s, f"{path}:studies[{i}]"))
    return reg


def load_products_csv(path: Path, reg: Registry | None = None) -> Registry:
    """One row per product × jurisdiction.

    Columns: ``id,name,substances,jurisdiction,status,numbers`` (lists ``;``-separated).
    """
    reg = reg or Registry()
    rows: dict[str, dict[str, Any]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            where = f"{path}:{n}"
            pid = _require(row, "id", where).strip()
            obj = rows.setdefault(pid, {"id": pid, "name": row.get("name") or pid,
                                        "substances": _split(row.get("substances")),
                                        "aliases": _split(row.get("aliases")), "statuses": []})
            if row.get("jurisdiction"):
                obj["statuses"].append({
                    "jurisdiction": row["jurisdiction"].strip(),
                    "status": _status(_require(row, "status", where), where),
                    "numbers": _split(row.get("numbers")),
                })
    for pid, obj in rows.items():
        reg.add_product(product_from_dict(obj, f"{path}:{pid}"))
    return reg


def load_studies_csv(path: Path, reg: Registry | None = None) -> Registry:
    """Columns: ``protocol,jurisdictions,ind_numbers,products,blinded,title``."""
    reg = reg or Registry()
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            where = f"{path}:{n}"
            blinded = (row.get("blinded") or "false").strip().lower()
            if blinded not in ("true", "false", "yes", "no", "1", "0"):
                raise RegistryError(f"{where}: blinded {blinded!r} is not true/false")
            reg.add_study(Study(
                protocol=_require(row, "protocol", where).strip(),
                jurisdictions=_split(row.get("jurisdictions")),
                ind_numbers=_split(row.get("ind_numbers")),
                products=_split(row.get("products")),
                blinded=blinded in ("true", "yes", "1"),
                title=row.get("title") or "",
            ))
    return reg


def registry_to_json(reg: Registry) -> dict[str, Any]:
    return {
        "products": [
            {"id": p.id, "name": p.name, "substances": list(p.substances),
             "aliases": list(p.aliases),
             "statuses": [{"jurisdiction": s.jurisdiction, "status": s.status.value,
                           "numbers": list(s.numbers)} for s in p.statuses],
             **({"placebo": True} if p.placebo else {})}
            for p in reg.products.values()
        ],
        "studies": [
            {"protocol": s.protocol, "jurisdictions": list(s.jurisdictions),
             "ind_numbers": list(s.ind_numbers), "products": list(s.products),
             "blinded": s.blinded, "title": s.title}
            for s in reg.studies.values()
        ],
    }

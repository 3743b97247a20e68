"""Reference safety information: which PTs are expected for a product, version by version.

Expectedness is judged against the RSI *in force at day 0*: the Investigator's Brochure for
investigational use (Reg. (EU) 536/2014 Annex III section 2.2; 21 CFR 312.32(a) "unexpected"),
the label/SmPC of the country for authorised use (ICH E2D section 2.5). An RSI is identified by
a *reference* string: ``"IB"`` or ``"label:<jurisdiction>"`` (e.g. ``label:US``).
"""

from __future__ import annotations

import bisect
import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


class RsiError(ValueError):
    """An RSI file row or object is wrong; the message names the file, row and field, and
    ``field`` names the field for an API answer."""

    def __init__(self, message: str, field: str = "rsi") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class RsiVersion:
    product_id: str
    reference: str  # "IB" or "label:US" / "label:EU" / ...
    version: str
    effective_from: date
    expected_pts: frozenset[str]
    document: str = ""  # e.g. "Investigator's Brochure ed. 7", "SmPC 2026-01"

    def expects(self, pt_code: str | None) -> bool:
        return pt_code is not None and pt_code in self.expected_pts


@dataclass(slots=True)
class RsiLibrary:
    """All RSI versions, indexed for the "in force on day X" question."""

    _by_key: dict[tuple[str, str], list[RsiVersion]] = field(default_factory=dict)
    _sealed: bool = field(default=False, compare=False, repr=False)

    def seal(self) -> RsiLibrary:
        """This library, read-only from now on (``add`` refuses; its versions are frozen):
        one read from the database is shared by every job of a worker."""
        self._sealed = True
        return self

    def add(self, v: RsiVersion) -> None:
        if self._sealed:
            raise TypeError("a sealed RSI library cannot change (build a new one)")
        versions = self._by_key.setdefault((v.product_id, v.reference), [])
        if any(x.effective_from == v.effective_from for x in versions):
            raise RsiError(
                f"{v.product_id} {v.reference}: two versions effective {v.effective_from}"
            )
        bisect.insort(versions, v, key=lambda x: x.effective_from)

    def in_force(self, product_id: str, reference: str, on: date) -> RsiVersion | None:
        versions = self._by_key.get((product_id, reference))
        if not versions:
            return None
        i = bisect.bisect_right(versions, on, key=lambda x: x.effective_from)
        return versions[i - 1] if i else None

    def versions(self) -> list[RsiVersion]:
        return [v for vs in self._by_key.values() for v in vs]

    def replaced(self, old: RsiVersion, new: RsiVersion) -> RsiLibrary:
        """A copy with ``old`` swapped for ``new`` (for what-if re-evaluation)."""
        lib = RsiLibrary()
        for v in self.versions():
            if v != old:
                lib.add(v)
        lib.add(new)
        return lib


def _parse_date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RsiError(f"{where}: effective_from {value!r} is not YYYY-MM-DD") from None


def rsi_from_dict(obj: dict[str, Any], where: str = "rsi") -> RsiVersion:
    for key in ("product_id", "reference", "version", "effective_from"):
        if not obj.get(key):
            raise RsiError(f"{where}: missing {key!r}")
    ref = str(obj["reference"])
    if ref != "IB" and not ref.startswith("label:"):
        raise RsiError(f"{where}: reference {ref!r} must be 'IB' or 'label:<jurisdiction>'")
    return RsiVersion(
        product_id=str(obj["product_id"]), reference=ref, version=str(obj["version"]),
        effective_from=_parse_date(obj["effective_from"], where),
        expected_pts=frozenset(str(x) for x in obj.get("expected_pts", ())),
        document=str(obj.get("document", "")),
    )


def load_rsi_json(path: Path, lib: RsiLibrary | None = None) -> RsiLibrary:
    lib = lib or RsiLibrary()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RsiError(f"{path}: not JSON ({exc})") from exc
    for i, obj in enumerate(data):
        lib.add(rsi_from_dict(obj, f"{path}[{i}]"))
    return lib


def load_rsi_csv(path: Path, lib: RsiLibrary | None = None) -> RsiLibrary:
    """One row per expected PT: ``product_id,reference,version,effective_from,pt_code,document``."""
    lib = lib or RsiLibrary()
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            key = (row.get("product_id", ""), row.get("reference", ""), row.get("version", ""))
            obj = grouped.setdefault(key, {**row, "expected_pts": [], "_where": f"{path}:{n}"})
            if row.get("pt_code"):
                obj["expected_pts"].append(row["pt_code"].strip())
    for obj in grouped.values():
        lib.add(rsi_from_dict(obj, obj["_where"]))
    return lib

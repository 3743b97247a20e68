"""Element nesting and order of E2B(R3) messages, derived from the official instances.

The ICH XSD set is not available to us, so the structural check uses what the official FDA
example instances (and the ICH-style instance) show: which child elements each element may hold
and in which relative order siblings appear. Nesting is widened with every path named by the
element XPaths of the FDA/MFDS tables (elements the examples happen not to carry). The derived
table is a data file (``schemas/e2b-structure.json``) regenerated with
``python -m safety.e2b.structure`` (into the bundled folder, i.e. the checkout's ``schemas/`` in
an editable install); a test proves it matches its sources.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypedDict

from lxml import etree

from safety.e2b.hl7 import HL7, parse_xml
from safety.e2b.rules import (
    _normalise,
    _split_steps,
    element_rules,
    structure_supplement,
)
from safety.package_data import BUNDLED_SCHEMAS

STRUCTURE_FILE = "e2b-structure.json"


class StructureEntry(TypedDict, total=False):
    """One element path of the data file: its children, the sibling pairs (first, second)
    seen in that order and never the other way round, and its HL7 data type when the element
    tables give one (their "HL7 Data Type" columns)."""

    children: list[str]
    before: list[list[str]]
    datatype: str


# "Coded With Equivalents (CE)", "Interval of Point in Time (IVL<TS>)" -> CE, IVL_TS
_TYPE = re.compile(r"\(([A-Z]{2,5}(?:[<_][A-Z]{2,4}>?)?)\)")
# types whose table rows name a part of the value (given=, city=, low=): the value is the
# part's parent
_PARTED = {"PN": {"given", "family", "prefix", "suffix"},
           "AD": {"streetAddressLine", "city", "state", "postalCode", "country"},
           "IVL_TS": {"low", "high", "center", "width"},
           "IVL_PQ": {"low", "high", "center", "width"}}


def hl7_types(cell: str) -> frozenset[str]:
    """The HL7 data types a table cell names: usually one; several where the tables describe
    alternatives by condition (e.g. a dosage's IVL_TS, PIVL_TS or SXPR_TS)."""
    return frozenset(m.replace("<", "_").replace(">", "")
                     for m in _TYPE.findall(" ".join(cell.split())))


def _typed_rows(schemas: Path) -> list[tuple[str, str, frozenset[str]]]:
    """(element number, XPath, HL7 data types) of every row of the FDA and MFDS tables that
    gives a type."""
    out = []
    fda = schemas / "reference" / "fda-core-and-regional-data-elements.csv"
    with fda.open(encoding="utf-8-sig", newline="") as fh:
        for row in list(csv.reader(fh))[2:]:
            if len(row) > 32 and (t := hl7_types(row[30])):
                out.append((row[2].strip(), row[32], t))
    mfds = schemas / "reference" / "mfds-icsr-element-xpath.csv"
    if mfds.exists():
        with mfds.open(encoding="utf-8-sig", newline="") as fh:
            for row in list(csv.reader(fh))[1:]:
                if len(row) > 7 and (t := hl7_types(row[4])):
                    out.append((row[1].strip(), row[7], t))
    return out


def _element_path(xpath: str) -> list[str]:
    raw = _split_steps(_normalise(xpath))
    steps = [s.split("[", 1)[0].strip() for s in raw]
    return [s for s in steps if s and not s.startswith("@") and s != "text()"
            and not s.startswith("substring")]


def datatypes(schemas: Path = BUNDLED_SCHEMAS) -> dict[str, str]:
    """The HL7 data type of each element path the tables type (the element holding the value:
    ``.../value`` for a CE's ``@code``, ``.../name`` for a PN's ``given``). A path the rows
    type differently (alternatives by condition, or tables that disagree) gets none: its
    ``xsi:type`` then says which it is."""
    rows = _typed_rows(schemas)
    by_number: dict[str, set[str]] = {}  # what both tables together allow for an element
    for number, _, named in rows:
        by_number.setdefault(number, set()).update(named)
    seen: dict[str, set[str]] = {}
    for number, xpath, _ in rows:
        allowed = by_number[number]
        names = _element_path(xpath)
        if not names or names[0] != "MCCI_IN200100UV01":
            continue
        if any(names[-1] in _PARTED.get(dt, ()) for dt in allowed):
            names = names[:-1]
        seen.setdefault("/".join(names), set()).update(allowed)
    return {path: types.pop() for path, types in seen.items() if len(types) == 1}


def _tag(e: etree._Element) -> str:
    return etree.QName(e).localname


def _brackets(step: str) -> list[str]:
    """Top-level predicate contents of one step (``a[x][y[z]]`` → ``["x", "y[z]"]``)."""
    out, depth, cur = [], 0, ""
    for ch in step:
        if ch == "[":
            depth += 1
            if depth == 1:
                cur = ""
                continue
        elif ch == "]":
            depth -= 1
            if depth == 0:
                out.append(cur)
                continue
        if depth >= 1:
            cur += ch
    return out


def _predicate_paths(step: str, base: list[str]) -> list[list[str]]:
    """Element paths named inside a step's predicates (``[observation/code[@code='1']]``)."""
    out = []
    for pred in _brackets(step):
        if not re.match(r"[A-Za-z_]", pred.strip()):
            continue
        path = list(base)
        for sub in _split_steps(pred.strip()):
            name = re.match(r"[A-Za-z_][\w.-]*", sub.strip())
            if name is None:
                break
            path = [*path, name.group(0)]
            out.append(path)
            out.extend(_predicate_paths(sub, path))
    return out


def derive(instances: Iterable[bytes],
           schemas: Path = BUNDLED_SCHEMAS) -> dict[str, StructureEntry]:
    children: dict[str, set[str]] = {}
    before: dict[str, set[tuple[str, str]]] = {}

    def walk(e: etree._Element, path: str) -> None:
        kids = [c for c in e if isinstance(c.tag, str)]
        children.setdefault(path, set()).update(_tag(c) for c in kids)
        seen: list[str] = []
        for c in kids:
            t = _tag(c)
            for s in seen:
                if s != t:
                    before.setdefault(path, set()).add((s, t))
            if t not in seen:
                seen.append(t)
            walk(c, f"{path}/{t}")

    for data in instances:
        root = parse_xml(data)
        walk(root, _tag(root))
    def add(steps: list[str]) -> None:
        for i in range(1, len(steps)):
            children.setdefault("/".join(steps[:i]), set()).add(steps[i])

    for rule in element_rules(schemas):
        raw = _split_steps(_normalise(rule.xpath))
        steps = [s.split("[", 1)[0].strip() for s in raw]
        keep = [i for i, s in enumerate(steps) if s and not s.startswith("@") and s != "text()"
                and not s.startswith("substring")]
        if not keep or steps[keep[0]] != "MCCI_IN200100UV01":
            continue
        names = [steps[i] for i in keep]
        add(names)
        for pos, i in enumerate(keep):
            for named in _predicate_paths(raw[i], names[: pos + 1]):
                add(named)
    for line in structure_supplement(schemas):
        add(line.split("/"))
    typed = datatypes(schemas)
    for path in typed:
        steps = path.split("/")
        add(steps)
        children.setdefault(path, set())
    out: dict[str, StructureEntry] = {}
    for path in sorted(children):
        pairs = before.get(path, set())
        ordered = sorted(p for p in pairs if (p[1], p[0]) not in pairs)
        out[path] = {"children": sorted(children[path]), "before": [list(p) for p in ordered]}
        if path in typed:
            out[path]["datatype"] = typed[path]
    return out


@dataclass(slots=True)
class StructureNode:
    """Allowed children and sibling order pairs (Clark names) at one element path."""

    children: dict[str, StructureNode] = field(default_factory=dict)
    before: frozenset[tuple[str, str]] = frozenset()
    datatype: str | None = None  # from the element tables' HL7 data type columns


def structure_tree(schemas: Path = BUNDLED_SCHEMAS) -> dict[str, StructureNode]:
    """The structure table of ``schemas`` as a tree keyed by Clark names
    (``{urn:hl7-org:v3}id``)."""
    return _structure_tree(schemas)


@cache
def _structure_tree(schemas: Path) -> dict[str, StructureNode]:
    data = json.loads((schemas / STRUCTURE_FILE).read_text("utf-8"))
    roots: dict[str, StructureNode] = {}
    for path, entry in sorted(data.items()):
        if path.startswith("_"):
            continue
        steps = [f"{{{HL7}}}{s}" for s in path.split("/")]
        node = roots.setdefault(steps[0], StructureNode())
        for step in steps[1:]:
            node = node.children.setdefault(step, StructureNode())
        node.before = frozenset((f"{{{HL7}}}{a}", f"{{{HL7}}}{b}") for a, b in entry["before"])
        node.datatype = entry.get("datatype")
        for child in entry["children"]:
            node.children.setdefault(f"{{{HL7}}}{child}", StructureNode())
    return roots


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv]
    table: dict[str, str | StructureEntry] = {"_source": "derived by safety.e2b.structure from: "
                   + ", ".join(sorted(p.name for p in files))
                   + " and the element XPaths of schemas/reference/*.csv"}
    table.update(derive(p.read_bytes() for p in sorted(files)))
    (BUNDLED_SCHEMAS / STRUCTURE_FILE).write_text(json.dumps(table, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

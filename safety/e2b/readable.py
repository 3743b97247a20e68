"""An E2B(R3) message as a person reads it: every data element it carries, by section, with
its element number, its name and, for coded values, what the code means.

Nothing here is a second reading of the message: the element numbers, names, XPaths and code
lists are those of the regulators' tables the conformance checker applies
(``safety.e2b.rules``, ``schemas/reference``), evaluated on the message bytes as sent. The
meanings of coded values come from the tables' "values allowed" column (e.g. C.1.3
"1=Spontaneous Report 2=Report from study ..."); MedDRA and other external codes are shown as
codes (their terms are on the case page).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from safety.cases.values import PartialDate, PartialDateError
from safety.e2b.hl7 import HL7, parse_xml
from safety.e2b.rules import _PLACEHOLDER, ElementRule, _normalise, element_rules
from safety.package_data import BUNDLED_SCHEMAS

# (prefix of the element number, title, what one repetition is called)
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("N.1", "N.1 Batch (transmission)", ""),
    ("N.2", "N.2 Message header", ""),
    ("C.1", "C.1 Identification of the case safety report", ""),
    ("C.2", "C.2 Primary source(s) of information", "Primary source"),
    ("C.3", "C.3 Sender", ""),
    ("C.4", "C.4 Literature reference(s)", "Reference"),
    ("C.5", "C.5 Study identification", ""),
    ("D", "D Patient characteristics", ""),
    ("E", "E Reaction(s) / event(s)", "Reaction/event"),
    ("F", "F Tests and procedures", "Test"),
    ("G", "G Drug(s)", "Drug"),
    ("H", "H Narrative case summary and further information", ""),
)
NULL_FLAVOURS = {"NI": "no information", "MSK": "masked", "UNK": "unknown",
                 "NA": "not applicable", "ASKU": "asked but unknown", "NASK": "not asked",
                 "NINF": "negative infinity", "PINF": "positive infinity", "OTH": "other"}
_CODE_SPLIT = re.compile(r"(?:(?<=\s)|^)([A-Z]?\d{1,6})\s*=\s*")
_MESSAGE = "/MCCI_IN200100UV01/PORR_IN049016UV[r]/"


@dataclass(frozen=True)
class Row:
    number: str  # the data element number (C.1.3, G.k.4.r.1a, FDA.C.5.5a ...)
    name: str
    value: str
    meaning: str = ""  # what a coded value means, a null flavour spelled out, a date read
    occurrence: tuple[int, ...] = ()  # which repetition (reaction 2, drug 1 dosage 3 ...)

    @property
    def where(self) -> str:
        return ".".join(str(i) for i in self.occurrence)


@dataclass
class Section:
    key: str
    title: str
    item: str  # what one repetition is called ("Drug"), empty when the section has none
    rows: list[Row] = field(default_factory=list)


def section_of(number: str) -> str:
    """The section key of an element number; FDA regional elements join their ICH section."""
    plain = number.removeprefix("FDA.")
    for key, _, _ in SECTIONS:
        if plain == key or plain.startswith(key + ".") or (len(key) == 1
                                                          and plain.startswith(key)):
            return key
    return "H"


@cache
def meanings(schemas: Path = BUNDLED_SCHEMAS) -> dict[str, dict[str, str]]:
    """Element number → code → meaning, from the tables' "values allowed" column."""
    out: dict[str, dict[str, str]] = {}
    for table, column in (("ich-core-data-elements-and-business-rules.csv", 6),
                          ("fda-core-and-regional-data-elements.csv", 6)):
        path = schemas / "reference" / table
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in list(csv.reader(fh))[2:]:
                if len(row) <= column or not row[2].strip():
                    continue
                codes = parse_values(row[column])
                if codes:
                    out.setdefault(row[2].strip(), {}).update(codes)
    return out


def parse_values(cell: str) -> dict[str, str]:
    """``"1=Male  2=Female nullFlavor: MSK"`` → ``{"1": "Male", "2": "Female"}``."""
    text = " ".join(cell.split())
    parts = _CODE_SPLIT.split(text)
    out: dict[str, str] = {}
    for code, meaning in zip(parts[1::2], parts[2::2], strict=False):
        meaning = re.split(r"\s*nullFlavor", meaning, flags=re.IGNORECASE)[0]
        meaning = meaning.strip(" ,;")
        if meaning:
            out[code] = meaning
    return out


def _repeats(rule: ElementRule) -> int:
    """How many of the rule's XPath groups end at a repeating element (E.i, G.k, G.k.4.r)."""
    x = _normalise(rule.xpath)
    return len(_PLACEHOLDER.findall(x[len(_MESSAGE):] if x.startswith(_MESSAGE) else x))


def _found(rule: ElementRule, start: etree._Element) -> list[tuple[tuple[int, ...],
                                                                   etree._Element]]:
    frontier: list[tuple[tuple[int, ...], etree._Element]] = [((), start)]
    for group in rule.groups:
        nxt = []
        for where, el in frontier:
            hits = group(el)
            if not isinstance(hits, list):
                continue
            nxt += [((*where, i), h) for i, h in enumerate(hits, start=1)
                    if isinstance(h, etree._Element)]
        frontier = nxt
    keep = _repeats(rule)
    return [(where[:keep], el) for where, el in frontier]


def _value(rule: ElementRule, node: etree._Element) -> tuple[str, str]:
    """What the element says, and what that means to a reader."""
    nf = node.get("nullFlavor")
    if nf is not None:
        return nf, f"null flavour: {NULL_FLAVOURS.get(nf, nf)}"
    leaf = rule.leaf
    raw = node.get(leaf[1:]) if leaf.startswith("@") else "".join(node.itertext())
    value = " ".join((raw or "").split())
    if not value:
        return "", ""
    if rule.is_boolean:
        return value, {"true": "yes", "false": "no"}.get(value, "")
    if rule.is_date:
        try:
            return value, PartialDate.parse_hl7(value).isoformat()
        except PartialDateError:
            return value, ""
    return value, meanings().get(rule.number, {}).get(value, "")


def _rows(rules: tuple[ElementRule, ...], start: etree._Element) -> list[Row]:
    rows: list[Row] = []
    seen: set[tuple[str, tuple[int, ...], str]] = set()
    for rule in rules:
        for where, node in _found(rule, start):
            value, meaning = _value(rule, node)
            if not value or (rule.number, where, value) in seen:
                continue
            seen.add((rule.number, where, value))
            rows.append(Row(rule.number, rule.name, value, meaning, where))
    return rows


def readable(xml: bytes, schemas: Path = BUNDLED_SCHEMAS) -> list[list[Section]]:
    """Per message of the batch, its sections (the batch's N.1 elements lead the first)."""
    root = parse_xml(xml)
    rules = tuple(r for r in element_rules(schemas) if r.checked)
    batch_rules = tuple(r for r in rules if r.batch_level)
    message_rules = tuple(r for r in rules if not r.batch_level)
    batch = _rows(batch_rules, root)
    out: list[list[Section]] = []
    for message in root.findall(f"{{{HL7}}}PORR_IN049016UV"):
        sections = {key: Section(key, title, item) for key, title, item in SECTIONS}
        # rows of one repetition together (drug 1, its dosages, drug 2 ...), each in the
        # tables' order
        ranked = [(row.occurrence, i, row) for i, rule in enumerate(message_rules)
                  for row in _rows((rule,), message)]
        for row in ([] if out else batch):
            sections["N.1"].rows.append(row)
        for _, _, row in sorted(ranked, key=lambda t: (t[0], t[1])):
            sections[section_of(row.number)].rows.append(row)
        out.append([s for s in sections.values() if s.rows])
    return out

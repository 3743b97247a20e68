"""Hypothesis strategies for ICSRs built over the whole ICH/FDA element table.

The case is built from ``safety.e2b.elements.FIELDS``: every element the product keeps, at its
place in the case model. Each value is drawn from that element's row of the tables
(``safety.e2b.rules``): its code list, its null flavours (where the model field can hold one),
its maximum length, its data type (dates of every precision, booleans, numbers, UCUM units,
MedDRA codes and versions, ISO countries and languages, base64 documents). Repeating sections
repeat 0..2 times. An element added to ``FIELDS`` is drawn without changing this module.

:func:`consistent` then applies the rules of E2B(R3) itself that tie elements together (each
named there with its source), so that a generated case is one a sender can send.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any

from hypothesis import strategies as st

from safety.cases.model import (
    Assessment,
    CaseVersionData,
    CodedTerm,
    CodeListVersion,
    Quantity,
)
from safety.cases.values import NullFlavor, PartialDate
from safety.e2b.elements import FIELDS
from safety.e2b.hl7 import oid
from safety.e2b.rules import ElementRule, element_rules
from safety.package_data import BUNDLED_SCHEMAS

COUNTRIES = ("US", "GB", "DE", "FR", "JP", "CA", "EU")
LANGUAGES = ("eng", "fra", "deu", "jpn")  # ISO 639-2
UNITS = ("a", "mo", "wk", "d", "h", "min", "mg", "g", "kg", "mL", "ug", "{DF}", "1", "%")
MEDDRA_VERSIONS = ("26.1", "27.0", "27.1")
DOCUMENTS = ("JVBERi0xLjQK", "SGVsbG8gd29ybGQ=", "AAECAwQ=")  # base64

text = st.text(
    # XML 1.0 characters only (production [2]): the API refuses the others (safety.api.body)
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                           blacklist_characters="\r\ufffe\uffff"),
    min_size=1, max_size=30,
).filter(lambda s: s.strip() == s)


@st.composite
def partial_dates(draw: st.DrawFn) -> PartialDate:
    """Any precision from a year to a second, with or without a UTC offset."""
    year = draw(st.integers(1900, 2025))
    depth = draw(st.integers(0, 5))
    limits = [(1, 12), (1, 28), (0, 23), (0, 59), (0, 59)]
    comps = [draw(st.integers(lo, hi)) for lo, hi in limits[:depth]]
    offset = draw(st.sampled_from([None, 0, -300, 330])) if depth >= 3 else None
    return PartialDate(year, *comps, tz_offset_minutes=offset)


@cache
def _rules() -> dict[str, ElementRule]:
    out: dict[str, ElementRule] = {}
    for rule in element_rules(BUNDLED_SCHEMAS):
        out.setdefault(rule.number, rule)
    return out


def _present(number: str, path: str, args: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """A value of element ``number`` (at model ``path``) of its type in the tables."""
    rule = _rules()[number]
    kind = rule.data_type.strip()
    ml = rule.max_length or 30
    if number == "C.2.r.5":  # a flag in the model: the primary source is marked, or not
        return st.just(True)
    if rule.allowed_codes and str in args:
        return st.sampled_from(sorted(rule.allowed_codes))
    if rule.is_date:
        return partial_dates()
    if rule.is_boolean or (bool in args and str not in args):
        return st.booleans()
    if float in args:
        return st.integers(1, 250).map(float)
    if path.endswith(".unit") or "(unit)" in rule.name:
        return st.sampled_from(UNITS)
    if kind == "B64":
        return st.sampled_from(DOCUMENTS)
    if kind == "A" and ml == 2:
        return st.sampled_from(COUNTRIES)
    if kind == "A" and ml == 3:
        return st.sampled_from(LANGUAGES)
    if "MedDRA Version" in rule.name:
        return st.sampled_from(MEDDRA_VERSIONS)
    if kind == "N":
        return st.text(alphabet="0123456789", min_size=1, max_size=min(ml, 8))
    return text.filter(lambda s: len(s) <= ml)


def value(number: str, path: str, hint: Any) -> st.SearchStrategy[Any]:
    """Values of element ``number`` for a model field typed ``hint``: absent (when the field
    can be), a null flavour the table allows (when the field can hold one), or a value."""
    rule = _rules()[number]
    args = typing.get_args(hint) or (hint,)
    if number.startswith(("E.i.3.2", "FDA.E.i.3.2")):
        # seriousness criteria are true or nullFlavor NI in E2B(R3), never false
        return st.sampled_from([True, NullFlavor.NI])
    options = [_present(number, path, args)]
    if NullFlavor in args and rule.null_flavors:
        options.append(st.sampled_from(sorted(rule.null_flavors)).map(NullFlavor))
    if type(None) in args:
        options.append(st.none())
    return st.one_of(*options)


# --- building the case from FIELDS ------------------------------------------------------------
Tree = dict[str, Any]  # attribute -> subtree, or (element number, full path) at a leaf


@cache
def _tree() -> Tree:
    root: Tree = {}
    for number, path in FIELDS.items():
        node = root
        *inner, leaf = path.split(".")
        for part in inner:
            node = node.setdefault(part, {})
        node[leaf] = (number, path)
    return root


def _unwrap(hint: Any) -> tuple[Any, bool, bool]:
    """(the dataclass or item type, optional?, list?) of a field's type hint."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, __import__("types").UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(inner) < len(typing.get_args(hint))
        if len(inner) == 1:
            hint = inner[0]
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], optional, True
    return hint, optional, False


def _build(cls: type, tree: Tree) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    drawn: dict[str, st.SearchStrategy[Any]] = {}
    for name, sub in tree.items():
        attr = name.removesuffix("[]")
        item, optional, repeated = _unwrap(hints[attr])
        if isinstance(sub, tuple):  # a leaf: one element
            number, path = sub
            if repeated:
                drawn[attr] = st.lists(value(number, path, item), max_size=2)
            else:
                drawn[attr] = value(number, path, hints[attr])
            continue
        inner = _build(item, sub)
        if repeated:
            drawn[attr] = st.lists(inner, max_size=2)
        elif optional:
            drawn[attr] = st.one_of(st.none(), inner)
        else:
            drawn[attr] = inner
    return st.builds(cls, **drawn)


@st.composite
def icsrs(draw: st.DrawFn) -> CaseVersionData:
    """A case filling any of the elements of ``FIELDS`` with values the tables allow."""
    case: CaseVersionData = draw(_build(CaseVersionData, _tree()))
    consistent(case, draw)
    # a list's version lives on its codes: declared only for a list every case uses
    # (.19 the observation codes)
    case.code_list_versions = draw(st.lists(st.builds(
        CodeListVersion, st.just("2.16.840.1.113883.3.989.2.1.1.19"),
        st.sampled_from(["1.0", "1.1"])), max_size=1))
    return case


# --- what E2B(R3) ties together ---------------------------------------------------------------
def _walk(obj: Any) -> list[Any]:
    out = [obj]
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            for item in v if isinstance(v, list) else [v]:
                if dataclasses.is_dataclass(item):
                    out.extend(_walk(item))
    return out


def _meddra(term: CodedTerm) -> None:
    """A MedDRA term is its code with the MedDRA version (E.i.2.1a/b and the like): a version
    goes with a code; a code read from E2B is an LLT coded by the sender."""
    if term.code is None:
        term.version = None
    else:
        term.family, term.level, term.method = "MedDRA", "LLT", "e2b"


def consistent(case: CaseVersionData, draw: st.DrawFn) -> None:
    for obj in _walk(case):
        if isinstance(obj, CodedTerm):
            _meddra(obj)
    for obj in _walk(case):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if isinstance(v, Quantity) and v.value is None and v.unit is None:
                setattr(obj, f.name, None)  # an empty quantity is no quantity
    a = case.admin
    if a.creation_date is None:  # C.1.2 is mandatory (the writer would put the send time)
        a.creation_date = PartialDate(2026, 1, 2, 3, 4, 5, tz_offset_minutes=0)
    for other in a.other_case_ids:  # C.1.9.1.r.1 and .r.2 are required together
        if other.case_id is None:
            other.case_id = "OTHER-1"
    for doc in [*a.documents, *case.literature]:  # an included document has its media type
        doc.media_type = "application/pdf" if doc.content_b64 is not None else None
    for person in [*case.reporters, case.sender]:
        if person.given_name is None:  # the middle name is the second given name (given[2])
            person.middle_name = None
    p = case.patient
    if not p.medical_history and p.medical_history_text is None:
        p.medical_history_text = NullFlavor.UNK  # D.7.2 unknown (ICH IG; FDA R0035)
    if p.death is not None and p.death.date is None and not p.death.reported_causes \
            and p.death.autopsy_done is None and not p.death.autopsy_causes:
        p.death = None  # nothing of D.9 given
    for r in case.reactions:
        if r.coding is not None and r.coding.code is None:
            r.coding = None
        # E.i.1.1a goes with its language E.i.1.1b (FDA R0058); a language alone says nothing
        if r.verbatim is None:
            r.verbatim_language = None
        elif r.verbatim_language is None:
            r.verbatim_language = "eng"
    for t in case.tests:
        if t.coding is not None and t.coding.code is None:
            t.coding = None
        if t.result_text is not None:  # F.r.3.2-3 or F.r.3.4: one result value (HL7 value)
            t.value = None
        if t.value is None or isinstance(t.value, NullFlavor):
            t.unit = None
        else:
            t.value_qualifier = draw(st.sampled_from([None, ">", ">=", "<", "<="]))
    for d in case.drugs:
        d.mpid_system = oid("cs", "ndc") if d.mpid is not None else None
        if d.mpid is None:
            d.mpid_version = None
        for s in d.substances:
            if s.term_id is None:
                s.term_id_version = None
        for ds in d.dosages:
            if ds.interval is not None and ds.interval.unit is None:
                ds.interval = None
            ds.route_termid_system = oid("cs", "edqm_route") if ds.route_termid else None
            if ds.route_termid is None:
                ds.route_termid_version = None
            if ds.dose_form_termid is None:
                ds.dose_form_termid_version = None
            if ds.parent_route_termid is None:
                ds.parent_route_termid_version = None
        for dev in d.fda_devices:
            if dev.brand_name is None:  # r.4 and r.5 share an XPath: told apart by position
                dev.common_name = None
        # G.k.9.i.1 names a reaction of the case, once per drug; a link is sent through its
        # assessments (G.k.9.i.2.r), recurrence (G.k.9.i.4) or intervals (G.k.9.i.3)
        links = d.reactions[:len(case.reactions)]
        ids = draw(st.permutations([r.id for r in case.reactions]))
        for link, rid in zip(links, ids, strict=False):
            link.reaction_id = rid
            if not link.assessments and link.recurrence is None \
                    and link.start_interval is None and link.end_interval is None:
                link.assessments.append(Assessment(result="related"))
        d.reactions = links
    for p2 in [p, p.parent]:
        for pd in p2.past_drugs if p2 is not None else []:
            pd.mpid_system = oid("cs", "ndc") if pd.mpid is not None else None
            if pd.mpid is None:
                pd.mpid_version = None


def without_fda(case: CaseVersionData) -> CaseVersionData:
    """The case without the FDA regional elements (they are not sent elsewhere)."""
    regional: dict[str, bool] = {}  # a repeat all of whose elements are FDA's goes whole
    for number, path in FIELDS.items():
        parts = path.split(".")
        for i, part in enumerate(parts[:-1]):
            if part.endswith("[]"):
                key = ".".join(parts[:i + 1])
                regional[key] = regional.get(key, True) and number.startswith("FDA.")
    for number, path in [*FIELDS.items(), *((k, k) for k, v in regional.items() if v)]:
        if number.startswith("FDA.") or regional.get(number):
            _clear(case, path.split("."))
    return case


def _clear(obj: Any, parts: list[str]) -> None:
    head, *rest = parts
    name = head.removesuffix("[]")
    v = getattr(obj, name)
    if not rest:
        setattr(obj, name, [] if isinstance(v, list) else None)
        return
    for item in v if isinstance(v, list) else [v]:
        if item is not None:
            _clear(item, rest)

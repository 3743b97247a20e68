"""The element rules the conformance checker applies, read from the regulators' tables.

Source: the FDA "E2B(R3) Core and Regional Data Elements and Business Rules" workbook (CSV copy in
``schemas/reference/``, provenance in ``schemas/README.md``). For every ICH and FDA data element
it gives the conformance per profile, maximum length, data type, allowed values, allowed null
flavours, the code system and the full XPath. The XPaths are rewritten for lxml (``h:`` prefix,
repeat placeholders ``[r]``/``[k]``/``[i]`` turned into iteration points) and compiled once
per schemas folder. Rows whose XPath the table does not give ("See X-Path Reference") are kept
as unchecked so that a report can say exactly what was not verified.

The folder is a parameter (``Settings.schemas_dir`` at the callers), by default the copy shipped
in the package. The checker keys its tables by the rules' identities, so everything derived
from one folder is cached under that folder and one call passes the same folder all the way
down.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from safety.e2b.hl7 import NS
from safety.package_data import BUNDLED_SCHEMAS

PROFILES = ("ich", "fda-postmarket", "fda-premarket", "ema")
_NULL_COLUMNS = ("NI", "MSK", "UNK", "NA", "ASKU", "NASK", "NINF", "PINF", "OTH")
_PLACEHOLDER = re.compile(r"\[(r|k|i|j)\]")
_CODES = re.compile(r"(?:^|[\s/,;(])([A-Z]?\d{1,6})\s*=")
_NAME = re.compile(r"(?<![@:\w.$'\"-])([A-Za-z_][\w.-]*)(?=\s*(?:\[|/|\]|$|\)|\s))")
_XPATH_WORDS = {"and", "or", "not", "div", "mod"}


@dataclass(slots=True)
class ElementRule:
    number: str
    name: str
    max_length: int | None
    data_type: str
    allowed_codes: frozenset[str]
    conformance: dict[str, str]
    null_flavors: frozenset[str]
    code_systems: frozenset[str]  # FDA table
    ich_code_systems: frozenset[str]  # ICH table
    business_rule: str
    xpath: str
    groups: list[etree.XPath] = field(default_factory=list)
    # per group: (step text, selector) pairs; the checker merges all rules' steps into one
    # trie so that a message is walked once
    step_chains: list[list[tuple[str, Selector]]] = field(default_factory=list)
    leaf: str = ""  # the final step: "@code", "@value", "text()" ...
    checked: bool = False
    batch_level: bool = False  # N.1.x: evaluated on the batch root, not per message
    problem: str = ""
    is_date: bool = False
    is_boolean: bool = False
    min_precision: int | None = None  # HL7 date digits the business rule asks for at least
    required_in: frozenset[str] = frozenset()  # profiles where the element is mandatory

    def __post_init__(self) -> None:
        kind = self.data_type.lower()
        self.is_date = kind.startswith("date")
        self.is_boolean = kind == "boolean"
        rule = self.business_rule.lower()
        if "to the second" in rule:
            self.min_precision = 14
        elif "ccyymmdd" in rule or "precision required is the day" in rule:
            self.min_precision = 8
        elif "ccyy" in rule:
            self.min_precision = 4
        self.required_in = frozenset(p for p, c in self.conformance.items()
                                     if c.lower() in ("required", "mandatory"))


def _prefix(expr: str) -> str:
    """Add the ``h:`` namespace prefix to element names outside string literals."""
    out = []
    parts = re.split(r"('[^']*'|\"[^\"]*\")", expr)
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)
            continue

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in _XPATH_WORDS:
                return name
            return f"h:{name}"

        out.append(_NAME.sub(repl, part))
    return "".join(out)


def _split_steps(xpath: str) -> list[str]:
    steps, depth, cur = [], 0, ""
    for ch in xpath:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "/" and depth == 0:
            steps.append(cur)
            cur = ""
        else:
            cur += ch
    steps.append(cur)
    return steps


def _normalise(raw: str) -> str:
    x = raw.strip().replace("’", "'").replace("‘", "'").replace("\n", "")
    m = re.match(r"^substring\((.*),\s*\d+\s*\)$", x)
    if m:
        x = m.group(1)
    x = re.sub(r"\[@root='UUID[^']*'\]", "", x)
    x = re.sub(r"\[[^\[\]]*UUID[^\[\]]*\]", "", x)
    x = re.sub(r"(?<=[A-Za-z\]])@(?=[A-Za-z])", "/@", x)
    x = x.replace("/[", "[").replace("/ ", "/").replace(" ]", "]").replace("' ]", "']")
    if x.startswith("PORR_IN049016UV"):
        x = "/MCCI_IN200100UV01/" + x
    x = re.sub(r"^/MCCI_IN200100UV01(\[[^\]]*\])*", "/MCCI_IN200100UV01", x)
    return x


def _compile(rule: ElementRule) -> None:
    x = _normalise(rule.xpath)
    marker = "/MCCI_IN200100UV01/PORR_IN049016UV[r]/"
    if x.startswith(marker):
        steps = _split_steps(x[len(marker):])
    elif x.startswith("/MCCI_IN200100UV01/") and "PORR_IN049016UV" not in x:
        rule.batch_level = True
        steps = _split_steps(x[len("/MCCI_IN200100UV01/"):])
    else:
        rule.problem = "XPath is not relative to a message" if x else "no XPath in the table"
        return
    leaf = steps[-1]
    if not (leaf.startswith("@") or leaf == "text()"):
        leaf = ""
    else:
        steps = steps[:-1]
    groups: list[list[str]] = [[]]
    for s in steps:
        if _PLACEHOLDER.search(s):
            groups[-1].append(_PLACEHOLDER.sub("", s))
            groups.append([])
        else:
            groups[-1].append(s)
    if not groups[-1]:
        groups.pop()
    try:
        compiled = [etree.XPath(_prefix("/".join(g)), namespaces=NS) for g in groups]
    except etree.XPathSyntaxError as exc:
        rule.problem = f"XPath does not compile: {exc}"
        return
    rule.groups = compiled
    rule.step_chains = [_chain(g) for g in groups]
    rule.leaf = leaf
    rule.checked = True


def _conformance(row: list[str]) -> dict[str, str]:
    ich = row[7].strip()
    post = row[9].strip()
    pre = row[11].strip()
    is_fda = row[0].strip() == "FDA" or row[2].strip().startswith("FDA.")

    def fda(v: str) -> str:
        return ich if v in ("", "-") else v

    return {
        "ich": "" if is_fda else ich,
        "ema": "" if is_fda else ich,
        "fda-postmarket": fda(post),
        "fda-premarket": fda(pre),
    }


def element_rules(schemas: Path = BUNDLED_SCHEMAS) -> tuple[ElementRule, ...]:
    """The element rules of the tables in ``schemas``: the same objects on every call."""
    return _element_rules(schemas)


@cache
def _element_rules(schemas: Path) -> tuple[ElementRule, ...]:
    # Cached apart from the public default so that element_rules() and
    # element_rules(BUNDLED_SCHEMAS) share one entry (functools.cache keys the arguments as
    # given), and the rules' identities stay the same for the checker's tables.
    path = schemas / "reference" / "fda-core-and-regional-data-elements.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    fallback = _mfds_xpaths(schemas)
    overrides = _overrides(schemas)
    ich_cs = _ich_code_systems(schemas)
    rules = []
    for row in rows[2:]:
        if len(row) < 33:
            continue
        number = row[2].strip()
        if not number or number.startswith("("):
            continue
        ml = row[4].strip()
        nulls = frozenset(n for n, v in zip(_NULL_COLUMNS, row[20:29], strict=False)
                          if v.strip().lower() == "yes")
        cs = _oids(row[29])
        rule = ElementRule(
            number=number,
            name=row[3].strip(),
            max_length=int(ml) if ml.isdigit() else None,
            data_type=row[5].strip(),
            allowed_codes=frozenset(_CODES.findall(row[6])),
            conformance=_conformance(row),
            null_flavors=nulls,
            code_systems=cs,
            ich_code_systems=ich_cs.get(number, frozenset()),
            business_rule=row[8],
            xpath=row[32],
        )
        override = overrides.get(number, {})
        if "xpath" in override:
            rule.xpath = override["xpath"]
        if "skip" in override:
            rule.problem = override["skip"]
            rules.append(rule)
            continue
        _compile(rule)
        if not rule.checked and number in fallback:
            rule.xpath = fallback[number]
            _compile(rule)
        rules.append(rule)
        for alternative in override.get("also", []):
            twin = dataclasses.replace(rule, xpath=alternative, groups=[], step_chains=[],
                                       checked=False)
            _compile(twin)
            rules.append(twin)
    return tuple(rules)


def _mfds_xpaths(schemas: Path) -> dict[str, str]:
    """ICH element XPaths from the MFDS table, for rows the FDA table leaves without one."""
    path = schemas / "reference" / "mfds-icsr-element-xpath.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return {r[1].strip(): r[7] for r in rows[1:] if len(r) > 7 and r[7].strip()}


def _oids(cell: str) -> frozenset[str]:
    return frozenset(re.findall(r"\d+(?:\.\d+){3,}", cell))


def _overrides(schemas: Path) -> dict[str, dict[str, str]]:
    path = schemas / "e2b-xpath-overrides.json"
    data = json.loads(path.read_text("utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def structure_supplement(schemas: Path = BUNDLED_SCHEMAS) -> list[str]:
    path = schemas / "e2b-xpath-overrides.json"
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    paths: list[str] = data.get("_structure_supplement", {}).get("paths", [])
    return paths


def _ich_code_systems(schemas: Path) -> dict[str, frozenset[str]]:
    path = schemas / "reference" / "ich-core-data-elements-and-business-rules.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return {r[2].strip(): _oids(r[19]) for r in rows[2:] if len(r) > 19}


# A compiled run of location steps; the leaf (@attribute, text()) is never part of one, so it
# selects elements only.
Selector = Callable[[etree._Element], list[etree._Element]]


@cache
def _step(expr: str) -> Selector:
    """One location step compiled as XPath (measured faster than matching in Python)."""
    return etree.XPath(_prefix(expr), namespaces=NS)


def _chain(steps: list[str]) -> list[tuple[str, Selector]]:
    return [(step.strip(), _step(step)) for step in steps]

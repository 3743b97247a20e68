"""Conformance checking of E2B(R3) messages against the regulators' element tables.

Checks, per profile (``ich``, ``fda-postmarket``, ``fda-premarket``, ``ema``):
mandatory elements, allowed values and code systems, allowed null flavours, maximum lengths,
HL7 date format, minimum date precision and dates in the future (all from
``schemas/reference``), empty elements where a null flavour is due, the element nesting/order
seen in the official instances (``schemas/e2b-structure.json``), and the receiver routing of
the profile. When ``xsd_dir`` names an official ICH schema package (``SAFETY_E2B_XSD_DIR`` at
the callers) the XSD is applied too. Every finding names the data element number (when the
position maps to one), the XPath and the rule broken.

The tables come from the ``schemas`` folder given (``Settings.schemas_dir`` at the callers, by
default the one shipped in the package); everything compiled from them is cached per folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

from lxml import etree

from safety.cases.values import PartialDateError
from safety.e2b.conditional import evaluate
from safety.e2b.hl7 import (
    HL7,
    NS,
    XSI,
    XSI_TYPE,
    E2BError,
    destinations,
    is_hl7_ts,
    parse_ts,
    parse_xml,
    path_of,
    paths_under,
)
from safety.e2b.hl7_model import inside_value, permitted
from safety.e2b.rules import (
    PROFILES,
    ElementRule,
    Selector,
    _prefix,
    _split_steps,
    _step,
    element_rules,
)
from safety.e2b.structure import StructureNode, _brackets, structure_tree
from safety.package_data import BUNDLED_SCHEMAS

_STRUCTURAL = {"classCode", "moodCode", "typeCode", "determinerCode", XSI_TYPE}
_OBSERVATION_OID = "2.16.840.1.113883.3.989.2.1.1.19"
_FDA_RECEIVERS = {"fda-postmarket": "ZZFDA", "fda-premarket": "ZZFDA_PREMKT"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One way a message breaks a rule. ``severity`` is ``error`` (rejection) or ``warning``."""

    element: str  # data element number, e.g. "E.i.7", or "-" when the position has none
    xpath: str
    rule: str  # required, code, code-system, null-flavour, length, date-format, ...
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        head = f"{self.severity.upper()} {self.element} [{self.rule}]"
        return f"{head} {self.message} at {self.xpath}"


class ProfileError(ValueError):
    """An unknown conformance profile name."""


def _plain(rule: ElementRule) -> str:
    """The last XPath group of a rule without predicates, for messages about absent elements."""
    out, depth = "", 0
    for ch in "/".join(key for key, _ in rule.step_chains[-1]):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out += ch
    return out


def _required(rule: ElementRule, profile: str) -> bool:
    return profile in rule.required_in


def _is_empty(node: etree._Element) -> bool:
    for k in node.keys():
        if k not in _STRUCTURAL:
            return False
    if node.text and node.text.strip():
        return False
    return not any(isinstance(c.tag, str) for c in node)


def check(data: bytes, profile: str = "ich", *, now: datetime | None = None,
          schemas: Path = BUNDLED_SCHEMAS, xsd_dir: Path | None = None,
          inbound: bool = False) -> list[Finding]:
    """All findings for an E2B(R3) batch; an empty list means conformant. ``inbound``: a
    message received, not one we send: an element HL7 does not permit where it stands, or
    out of order, is a warning (its data is read all the same), not an error."""
    try:
        root = parse_xml(data)
    except E2BError as exc:
        return [Finding("-", exc.where, "well-formed", exc.reason)]
    return check_tree(root, profile, now=now, schemas=schemas, xsd_dir=xsd_dir,
                      inbound=inbound)


def check_tree(root: etree._Element, profile: str = "ich", *, now: datetime | None = None,
               schemas: Path = BUNDLED_SCHEMAS, xsd_dir: Path | None = None,
               inbound: bool = False, walks: Walks | None = None) -> list[Finding]:
    """:func:`check` of a parsed batch; ``walks`` (:func:`walks_of` the same tree), when the
    caller has them already (intake numbers the elements too), are not walked again."""
    if profile not in PROFILES:
        raise ProfileError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    now = now or datetime.now(UTC)
    findings: list[Finding] = []
    if etree.QName(root).localname != "MCCI_IN200100UV01":
        return [Finding("N.1", "/" + etree.QName(root).localname, "structure",
                        "root element must be MCCI_IN200100UV01")]
    messages = root.findall(f"{{{HL7}}}PORR_IN049016UV")
    if not messages:
        findings.append(Finding("N.2.r", "/MCCI_IN200100UV01", "required",
                                "the batch holds no PORR_IN049016UV message"))
    mapped: dict[etree._Element, str] = {}
    if walks is None:
        walks = walks_of(root, schemas)
    limits = _Limits(now + timedelta(minutes=5), (now + timedelta(hours=14)).date())
    for checks in _checks(profile, schemas):
        rid = checks.rid
        for contexts, found in walks:
            for ctx in contexts.get(rid, ()):
                nodes = found.get((rid, ctx), ())
                for n in nodes:
                    mapped.setdefault(n, checks.number)
                if not nodes:
                    if checks.required:
                        findings.append(Finding(checks.number, f"{path_of(ctx)}/{checks.plain}",
                                                "required", f"{checks.name} is required "
                                                f"({profile})"))
                    continue
                for n in nodes:
                    _check_node(checks, n, limits, findings)
    for el, number in mapped.items():
        if _is_empty(el):
            findings.append(Finding(number, path_of(el), "empty",
                                    "empty element: send a value or a nullFlavor"))
    by_number = _by_number(schemas)
    for i, msg in enumerate(messages, start=1):
        numbered = _Nodes(by_number, walks[0], walks[i])
        findings.extend(Finding(*f) for f in evaluate(msg, profile, numbered, path_of, schemas))
    structure = _structure(root, schemas)
    findings.extend(Finding(f.element, f.xpath, f.rule, f.message, "warning") if inbound else f
                    for f in structure)
    findings.extend(_routing(root, profile))
    findings.extend(xsd_findings(root, xsd_dir))
    return findings


def walks_of(root: etree._Element, schemas: Path = BUNDLED_SCHEMAS) -> Walks:
    """The element tables' walks of a batch (its wrapper, then each message): what
    :func:`check_tree` and :func:`element_numbers` both start from."""
    batch_trie, message_trie = _tries(schemas)
    return [_walk(batch_trie, root)] + [
        _walk(message_trie, m) for m in root.findall(f"{{{HL7}}}PORR_IN049016UV")]


def element_numbers(root: etree._Element, schemas: Path = BUNDLED_SCHEMAS, *,
                    walks: Walks | None = None) -> dict[str, str]:
    """The data element number of every node of a batch the element tables locate, by the
    node's XPath (``path_of``): what a finding at that XPath names as its element."""
    if walks is None:
        walks = walks_of(root, schemas)
    paths = paths_under(root.getroottree().getroot())
    out: dict[str, str] = {}
    for checks in _checks("ich", schemas):
        for contexts, found in walks:
            for ctx in contexts.get(checks.rid, ()):
                for n in found.get((checks.rid, ctx), ()):
                    out.setdefault(paths.get(n) or path_of(n), checks.number)
    return out


def numbered(findings: list[Finding], numbers: dict[str, str]) -> list[Finding]:
    """``findings`` with the element number filled in where the XPath locates one."""
    return [f if f.element != "-" or f.xpath not in numbers
            else Finding(numbers[f.xpath], f.xpath, f.rule, f.message, f.severity)
            for f in findings]


@dataclass(frozen=True, slots=True)
class _Checks:
    """What the checker tests on one element rule's nodes under one profile, worked out once
    per profile instead of per node."""

    rule: ElementRule
    rid: int  # id(rule), the key of the walks' tables
    number: str
    name: str
    plain: str  # the rule's last XPath group without predicates
    required: bool
    leaf: str
    attribute: str | None  # the leaf's attribute name when the leaf is ``@name``
    max_length: int | None
    codes: frozenset[str] | None  # allowed @code values, when the table lists them
    systems: frozenset[str] | None  # allowed codeSystems of a @code, when checked
    boolean: bool
    date: bool


@dataclass(frozen=True, slots=True)
class _Limits:
    """Where the future starts for dates with a time and for dates without one."""

    moment: datetime
    day: date


@cache
def _checks(profile: str, schemas: Path) -> tuple[_Checks, ...]:
    out = []
    fda = profile.startswith("fda")
    for rule in element_rules(schemas):
        if not rule.checked:
            continue
        leaf = rule.leaf
        systems = rule.code_systems if fda else (rule.ich_code_systems or rule.code_systems)
        out.append(_Checks(
            rule, id(rule), rule.number, rule.name, _plain(rule), _required(rule, profile), leaf,
            leaf[1:] if leaf.startswith("@") else None, rule.max_length,
            rule.allowed_codes if leaf == "@code" and rule.allowed_codes else None,
            systems if leaf == "@code" and systems - {_OBSERVATION_OID} else None,
            rule.is_boolean and leaf == "@value", rule.is_date and leaf == "@value"))
    return tuple(out)


def _itself(el: etree._Element) -> list[etree._Element]:
    return [el]


@dataclass(slots=True)
class _Trie:
    """All rules' XPaths merged by common steps, so a message is walked once for all rules."""

    selector: Selector = _itself  # the root's: the walk starts at its element
    children: dict[str, _Trie] = field(default_factory=dict)
    contexts: list[ElementRule] = field(default_factory=list)  # rules whose repeat ends here
    terminals: list[tuple[ElementRule, int]] = field(default_factory=list)  # (rule, ctx depth)
    depth: int = 0  # number of steps from the start element
    keyed: _Keyed | None = None  # set when siblings share an index (see _Keyed)
    # Read by the walk, worked out once (:func:`_settle`): the ids of ``contexts`` and
    # ``terminals`` (the walks' keys) and the children in order.
    context_ids: tuple[int, ...] = ()
    terminal_ids: tuple[tuple[int, int], ...] = ()
    kids: tuple[_Trie, ...] = ()


@cache
def _tries(schemas: Path) -> tuple[_Trie, _Trie]:
    batch, message = _Trie(), _Trie()
    for rule in element_rules(schemas):
        if not rule.checked:
            continue
        node = batch if rule.batch_level else message
        depth = sum(len(g) for g in rule.step_chains[:-1])
        if depth == 0:
            node.contexts.append(rule)
        steps = [s for g in rule.step_chains for s in g]
        for i, (key, selector) in enumerate(steps, start=1):
            node = node.children.setdefault(key, _Trie(selector, depth=i))
            if i == depth:
                node.contexts.append(rule)
        node.terminals.append((rule, depth))
    _compress(batch)
    _compress(message)
    _lean(batch)
    _lean(message)
    _key_siblings(batch)
    _key_siblings(message)
    _settle(batch)
    _settle(message)
    return batch, message


def _settle(node: _Trie) -> None:
    node.context_ids = tuple(id(rule) for rule in node.contexts)
    node.terminal_ids = tuple((id(rule), depth) for rule, depth in node.terminals)
    node.kids = tuple(node.children.values())
    for child in node.kids:
        _settle(child)


def _lean(node: _Trie) -> None:
    """Recompile the steps without lxml's per-call extras (EXSLT regular expression functions
    registered on every evaluation, string results tied to their nodes): the walk needs
    elements only."""
    for key, child in node.children.items():
        child.selector = _xpath(key)
        _lean(child)


def _compress(node: _Trie) -> None:
    """Merge runs of steps that neither branch nor end a rule into one XPath call."""
    for key, child in list(node.children.items()):
        path, cur = key, child
        while len(cur.children) == 1 and not cur.contexts and not cur.terminals:
            ((k2, nxt),) = cur.children.items()
            path, cur = f"{path}/{k2}", nxt
        if cur is not child:
            del node.children[key]
            cur = node.children[path] = _Trie(_step(path), cur.children, cur.contexts,
                                              cur.terminals, cur.depth)
        _compress(cur)


_NAME_STEP = re.compile(r"[A-Za-z_][\w.-]*")
_ATTR_EQ = re.compile(
    r"""@([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*=\s*(?:'([^']*)'|"([^"]*)")""")


@dataclass(frozen=True, slots=True)
class _Keyed:
    """A step such as ``outboundRelationship2[@typeCode='PERT'][observation/code[@code='24']
    [@codeSystem='...']][1]/observation/value`` answered from an index shared by its siblings.

    Up to a dozen sibling steps differ only in the code they look for below the same children;
    as separate XPaths each one tests every such child again. Here one XPath (``index_path``,
    the key test's path from the parent) finds the key nodes once; they are grouped by their
    attribute values (``names``) under the child that holds them, and each sibling takes its
    children from that index, then applies its other predicates in their order (attribute
    equalities and positions only; the key test comes before any position, so applying it
    first selects the same children) and evaluates the rest of its path from each of them.
    """

    index_key: str  # which siblings share an index
    index_path: Selector
    climb: int  # steps from a key node up to the child that holds it
    names: tuple[str, ...]  # attributes of a key node that make the index key
    values: tuple[str, ...]  # this sibling's key
    predicates: tuple[int | tuple[str, str], ...]  # the step's other predicates, in order
    rest: Selector | None  # the path after the first step

    def index(self, el: etree._Element) -> dict[tuple[str | None, ...], list[etree._Element]]:
        out: dict[tuple[str | None, ...], list[etree._Element]] = {}
        for n in self.index_path(el):
            holder = n
            ancestors = n.iterancestors()
            for _ in range(self.climb):
                holder = next(ancestors)
            key = tuple(n.get(a) for a in self.names)
            hits = out.get(key)
            if hits is None:
                out[key] = [holder]
            elif hits[-1] is not holder:
                hits.append(holder)
        return out

    def select(self, index: dict[tuple[str | None, ...], list[etree._Element]]
               ) -> list[etree._Element]:
        chosen = index.get(self.values, [])
        for p in self.predicates:
            if not chosen:
                return chosen
            if isinstance(p, int):
                chosen = chosen[p - 1:p]
            else:
                chosen = [c for c in chosen if c.get(p[0]) == p[1]]
        if self.rest is None:
            return chosen
        return [r for c in chosen for r in self.rest(c)]


def _attr_name(name: str) -> str | None:
    if ":" not in name:
        return name
    prefix, local = name.split(":", 1)
    return f"{{{XSI}}}{local}" if prefix == "xsi" else None


def _attr_eq(pred: str) -> tuple[str, str] | None:
    m = _ATTR_EQ.fullmatch(pred.strip())
    if m is None:
        return None
    name = _attr_name(m.group(1))
    return None if name is None else (name, m.group(2) if m.group(2) is not None else m.group(3))


def _plain_step(step: str) -> tuple[str, list[str]] | None:
    """A step's element name and top-level predicates, if it is exactly ``name[..][..]``."""
    m = _NAME_STEP.match(step)
    if m is None:
        return None
    preds = _brackets(step)
    if step != m.group(0) + "".join(f"[{p}]" for p in preds):
        return None
    return m.group(0), preds


def _keyed(key: str) -> tuple[str, int, tuple[str, ...], tuple[str, ...],
                               tuple[int | tuple[str, str], ...], str] | None:
    """(index path, climb, names, values, other predicates, rest) when ``key`` has that form."""
    steps = _split_steps(key)
    first = _plain_step(steps[0])
    if first is None:
        return None
    name, preds = first
    others: list[int | tuple[str, str]] = []
    found = None
    for pred in preds:
        if pred.strip().isdigit():
            if found is None:
                return None  # a position before the key test: positions need all children
            others.append(int(pred.strip()))
            continue
        eq = _attr_eq(pred)
        if eq is not None:
            others.append(eq)
            continue
        if found is not None:
            return None
        path = _split_steps(pred.strip())
        plain = [_plain_step(s) for s in path]
        last = plain[-1]
        if any(p is None for p in plain) or last is None:
            return None
        tests = [_attr_eq(p) for p in last[1]]
        if any(t is None for t in tests):
            return None
        pairs = [t for t in tests if t is not None]
        index_path = "/".join([name, *path[:-1], last[0]])
        found = (index_path, len(path), tuple(a for a, _ in pairs), tuple(v for _, v in pairs))
    if found is None or not found[2]:
        return None
    return (*found, tuple(others), "/".join(steps[1:]))


def _key_siblings(node: _Trie) -> None:
    """Give siblings that share a key test's path an index (only when two or more do)."""
    forms = {key: _keyed(key) for key in node.children}
    shared: dict[tuple[str, tuple[str, ...]], int] = {}
    for form in forms.values():
        if form is not None:
            shared[(form[0], form[2])] = shared.get((form[0], form[2]), 0) + 1
    for key, child in node.children.items():
        form = forms[key]
        if form is not None and shared[(form[0], form[2])] > 1:
            index_path, climb, names, values, others, rest = form
            child.keyed = _Keyed(f"{index_path}|{'|'.join(names)}", _xpath(index_path), climb,
                                 names, values, others, _xpath(rest) if rest else None)
        _key_siblings(child)


def _xpath(expr: str) -> Selector:
    return etree.XPath(_prefix(expr), namespaces=NS, regexp=False, smart_strings=False)


# the context elements of each rule (by id), and the nodes found from each context
_Contexts = dict[int, list[etree._Element]]
_Found = dict[tuple[int, etree._Element], list[etree._Element]]
# The walks of a batch: its wrapper's, then each message's (:func:`walks_of`).
Walks = list[tuple[_Contexts, _Found]]


def _walk(trie: _Trie, start: etree._Element) -> tuple[_Contexts, _Found]:
    """Contexts per rule and the nodes each context yields, in one depth-first walk."""
    contexts: _Contexts = {}
    found: _Found = {}
    chain: dict[int, etree._Element] = {0: start}

    def visit(node: _Trie, el: etree._Element) -> None:
        for rid in node.context_ids:
            hits = contexts.get(rid)
            if hits is None:
                contexts[rid] = [el]
            else:
                hits.append(el)
        for rid, depth in node.terminal_ids:
            key = (rid, chain[depth])
            hits = found.get(key)
            if hits is None:
                found[key] = [el]
            else:
                hits.append(el)
        if not node.kids:
            return
        # Each child's selector is called without first testing which children ``el`` has:
        # reading the children's tags (lxml builds each name) cost more than the XPath calls
        # it spared (measured on the golden exports, issue 20).
        indexes: dict[str, dict[tuple[str | None, ...], list[etree._Element]]] = {}
        for child in node.kids:
            keyed = child.keyed
            if keyed is None:
                result = child.selector(el)
            else:
                index = indexes.get(keyed.index_key)
                if index is None:
                    index = indexes[keyed.index_key] = keyed.index(el)
                result = keyed.select(index)
            for r in result:
                chain[child.depth] = r
                visit(child, r)

    visit(trie, start)
    return contexts, found


def _check_node(c: _Checks, n: etree._Element, limits: _Limits,
                findings: list[Finding]) -> None:
    rule = c.rule
    nf = n.get("nullFlavor")
    if nf is not None:
        if nf not in rule.null_flavors:
            allowed = ", ".join(sorted(rule.null_flavors)) or "none"
            findings.append(Finding(c.number, path_of(n), "null-flavour",
                                    f"nullFlavor {nf} not allowed for {c.name} "
                                    f"(allowed: {allowed})"))
        return
    if c.attribute is not None:
        v = n.get(c.attribute)
    elif c.leaf == "text()":
        v = n.text if n.text and n.text.strip() else None
    else:
        v = None
    if v is None:
        if c.required and c.leaf and not _is_empty(n):
            findings.append(Finding(c.number, path_of(n), "required",
                                    f"{c.name} has no value ({c.leaf})"))
        return
    if c.max_length is not None and len(v) > c.max_length:
        findings.append(Finding(c.number, path_of(n), "length",
                                f"{len(v)} characters exceed the maximum {c.max_length}"))
    if c.codes is not None and v not in c.codes:
        findings.append(Finding(c.number, path_of(n), "code",
                                f"{v!r} is not an allowed value for {c.name} "
                                f"({', '.join(sorted(c.codes))})"))
    if c.systems is not None:
        cs = n.get("codeSystem")
        if cs is not None and cs not in c.systems:
            findings.append(Finding(c.number, path_of(n), "code-system",
                                    f"codeSystem {cs} is not one of "
                                    f"{', '.join(sorted(c.systems))}"))
    if c.boolean and v not in ("true", "false"):
        findings.append(Finding(c.number, path_of(n), "boolean", f"{v!r} is not true/false"))
    if c.date:
        _check_date(rule, v, n, limits, findings)


def _check_date(rule: ElementRule, v: str, n: etree._Element, limits: _Limits,
                findings: list[Finding]) -> None:
    if not is_hl7_ts(v):
        findings.append(Finding(rule.number, path_of(n), "date-format",
                                f"{v!r} is not an HL7 date/time CCYY[MM[DD[hh[mm[ss]]]]][+ZZzz]"))
        return
    digits = len(v.split("+")[0].split("-")[0].split(".")[0])
    need = rule.min_precision
    if need is not None and digits < need:
        findings.append(Finding(rule.number, path_of(n), "date-precision",
                                f"{v!r} is less precise than the {need} digits required"))
    try:
        d = parse_ts(v, n)
    except E2BError as exc:
        findings.append(Finding(rule.number, path_of(n), "date-format", exc.reason))
        return
    except PartialDateError as exc:
        findings.append(Finding(rule.number, path_of(n), "date-format", str(exc)))
        return
    dt = d.to_datetime()
    future = (dt is not None and dt > limits.moment) or (
        dt is None and d.earliest() > limits.day)
    if future:
        findings.append(Finding(rule.number, path_of(n), "future-date", f"{v!r} is in the future"))


@cache
def _by_number(schemas: Path) -> dict[str, tuple[ElementRule, ...]]:
    out: dict[str, list[ElementRule]] = {}
    for r in element_rules(schemas):
        if r.checked:
            out.setdefault(r.number, []).append(r)
    return {k: tuple(v) for k, v in out.items()}


@dataclass(slots=True)
class _Nodes:
    """An element number's nodes in one message (or its batch header) with the element rule
    that found each, read from the rule walks already done; for the conditional rules."""

    by_number: dict[str, tuple[ElementRule, ...]]
    batch: tuple[_Contexts, _Found]
    message: tuple[_Contexts, _Found]

    def __call__(self, number: str) -> list[tuple[etree._Element, ElementRule]]:
        out: list[tuple[etree._Element, ElementRule]] = []
        for rule in self.by_number.get(number, ()):
            contexts, found = self.batch if rule.batch_level else self.message
            for ctx in contexts.get(id(rule), ()):
                out.extend((n, rule) for n in found.get((id(rule), ctx), ()))
        return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _structure(root: etree._Element, schemas: Path) -> list[Finding]:
    """Children not allowed where they are, then for each parent (after its subtree's findings)
    siblings out of order."""
    out: list[Finding] = []
    top = _compact_structure(schemas).get(etree.QName(root).text)
    if top is not None:
        _structure_walk(root, top[0], top[1], out, top[2])
    return out


# children by Clark name, for each child name the names it must come before, and the HL7
# data type the element tables give the element (None when they give none)
_Compact = tuple[dict[str, "_Compact"], dict[str, frozenset[str]], str | None]

# HL7 Data Types R1: a value may be sent as its table type or a specialisation of it
_SPECIALISATIONS = {"CD": frozenset({"CE", "CV", "CO", "CS"}), "CE": frozenset({"CV"}),
                    "EN": frozenset({"PN", "ON", "TN"}), "ST": frozenset({"SC"}),
                    "ED": frozenset({"ST"}), "QTY": frozenset({"PQ", "INT", "REAL", "TS"})}


def _datatype_finding(c: etree._Element, table_type: str) -> Finding | None:
    """A value whose ``xsi:type`` is not the type the element tables give it (nor a
    specialisation of it)."""
    declared = c.get(XSI_TYPE)
    if declared is None:
        return None
    declared = declared.rsplit(":", 1)[-1]
    if declared == table_type or declared in _SPECIALISATIONS.get(table_type, ()):
        return None
    return Finding("-", path_of(c), "datatype",
                   f"<{etree.QName(c).localname}> is xsi:type {declared}; the element tables "
                   f"give {table_type}")


@cache
def _compact_structure(schemas: Path) -> dict[str, _Compact]:
    def compact(node: StructureNode) -> _Compact:
        must: dict[str, set[str]] = {}
        for t, s in node.before:
            if (s, t) not in node.before:
                must.setdefault(t, set()).add(s)
        return ({tag: compact(c) for tag, c in node.children.items()},
                {t: frozenset(v) for t, v in must.items()}, node.datatype)

    return {tag: compact(node) for tag, node in structure_tree(schemas).items()}


def _structure_walk(e: etree._Element, kids: dict[str, _Compact],
                    must: dict[str, frozenset[str]], out: list[Finding],
                    table_type: str | None = None) -> None:
    """One pass over the children for both checks; leaves are not recursed into."""
    ordered = bool(must) and len(e) > 1
    seen: list[str] = []
    late: list[Finding] = []
    for c in e:
        t = c.tag
        if not isinstance(t, str):  # a comment or a processing instruction
            continue
        sub = kids.get(t)
        if sub is None:
            _beyond_table(e, c, kids, out, table_type)
        else:
            if sub[2] is not None:
                wrong = _datatype_finding(c, sub[2])
                if wrong is not None:
                    out.append(wrong)
            if len(c):
                _structure_walk(c, sub[0], sub[1], out, sub[2])
        if ordered:
            after = must.get(t)
            if after is not None and not after.isdisjoint(seen):
                first = next(s for s in seen if s in after)
                late.append(Finding("-", path_of(c), "order",
                                    f"<{_local(t)}> must come before <{_local(first)}>"))
            if t not in seen:
                seen.append(t)
    out.extend(late)


def _beyond_table(e: etree._Element, c: etree._Element, kids: dict[str, _Compact],
                  out: list[Finding], table_type: str | None = None) -> None:
    """A child the structure table does not name: allowed when HL7 permits it there (a data
    type's part, an act relationship's or participation's attribute: ``safety.e2b.hl7_model``),
    and then checked against its data type; otherwise not allowed."""
    known = {_local(k) for k in kids}
    datatype = permitted(e, c, known, table_type)
    if datatype is None:
        out.append(Finding("-", path_of(c), "structure",
                           f"<{etree.QName(c).localname}> is not allowed "
                           f"inside <{etree.QName(e).localname}>"))
        return
    pending = [(c, datatype)]
    while pending:
        node, dt = pending.pop()
        for child, child_type in inside_value(node, dt):
            if child_type is None:
                out.append(Finding("-", path_of(child), "structure",
                                   f"<{etree.QName(child).localname}> is not allowed inside "
                                   f"<{etree.QName(node).localname}> (HL7 {dt})"))
            else:
                pending.append((child, child_type))


def _routing(root: etree._Element, profile: str) -> list[Finding]:
    out = []
    rcv = root.find(f"{{{HL7}}}receiver/{{{HL7}}}device/{{{HL7}}}id")
    value = rcv.get("extension") if rcv is not None else None
    where = "/MCCI_IN200100UV01/receiver/device/id/@extension"
    expected: set[str] = set()
    if profile in _FDA_RECEIVERS:
        expected = {_FDA_RECEIVERS[profile]}
    elif profile == "ema":
        expected = {d["batch_receiver"] for d in destinations().values() if d["profile"] == "ema"}
    if expected and value not in expected:
        out.append(Finding("N.1.4", where, "routing",
                           f"batch receiver {value!r} does not route to {profile} "
                           f"(expected {' or '.join(sorted(expected))})"))
    return out


@cache
def _schema(xsd_dir: str, root_name: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    path = Path(xsd_dir) / "multicacheschemas" / f"{root_name}.xsd"
    return etree.XMLSchema(etree.parse(str(path), parser))


def xsd_findings(root: etree._Element, xsd_dir: Path | None) -> list[Finding]:
    """XSD validation when ``xsd_dir`` names an official ICH schema package; a folder that does
    not hold the schema is reported as a finding, so a message is never passed unvalidated."""
    if xsd_dir is None:
        return []
    name = etree.QName(root).localname
    try:
        schema = _schema(str(xsd_dir), name)
    except (OSError, etree.XMLSchemaParseError) as exc:
        return [Finding("-", "/" + name, "xsd", f"cannot load {name}.xsd from {xsd_dir}: {exc}")]
    if schema.validate(root):
        return []
    return [Finding("-", err.path or f"line {err.line}", "xsd", err.message)
            for err in schema.error_log]

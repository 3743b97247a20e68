"""Conditional business rules (FDA R/W rules, ICH rules) written as small readable predicates.

The rules live in ``schemas/e2b-conditional-rules.json``; each entry cites its source row. A rule
says: for the profiles listed, when ``when`` holds, ``then`` must hold, otherwise report
``element`` with the rule's severity. Predicates name data elements by their number and read
their values from the element rules' XPaths (``safety.e2b.rules``), so the checker's single
walk of a message is reused. Grammar (words are case-sensitive)::

    expr    := term ("or" term)*
    term    := factor ("and" factor)*
    factor  := "not" factor | "(" expr ")" | test
    test    := ["every"] subject check | "any" "of" "(" ELEMENT ("," ELEMENT)* ")" check
    subject := ELEMENT ["@" NAME]          e.g. C.1.3, C.1.6.1.r.2@representation
    check   := "present" | "absent" | "has" "value" | ("=" | "in") values
             | "null" values | "matches" 'REGEX'
    values  := VALUE | ELEMENT | "(" VALUE ("," VALUE)* ")"

An element occurrence is *present* when it carries a value or a nullFlavor; ``has value``
ignores null-flavoured occurrences; ``null NA`` tests the nullFlavor. ``=``/``in``/``null``/
``matches`` hold when some occurrence satisfies them; ``every`` requires all present
occurrences to (and holds when there are none). ``any of (A, B) present`` is ``A present or
B present``. A value written as an element number stands for that element's values.

A rule with ``"per": "D.7.1.r"`` is evaluated once per repeat: elements whose number starts
with ``D.7.1.r`` are read from that repeat only (others from the whole message). The repeat
is the deepest element that all the table's ``D.7.1.r...`` XPaths share, computed once at load.

Everything is parsed, checked against the element table and compiled at load time; a message
costs one guard lookup per rule whose trigger elements are absent. What is loaded comes from one
schemas folder (a parameter, by default the bundled one) and is cached under it, so the rules'
repeats refer to the same element rules as the checker's walk.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

from lxml import etree

from safety.e2b.rules import (
    PROFILES,
    ElementRule,
    Selector,
    _step,
    element_rules,
)
from safety.package_data import BUNDLED_SCHEMAS

RULES_FILE = "e2b-conditional-rules.json"
_SECTION_MIN = 6  # 'any of' lists this long are first tested with one XPath (see _section)
SEVERITIES = ("error", "warning")
ELEMENT = re.compile(r"(?:FDA\.)?[A-Z][0-9]?(?:\.[A-Za-z0-9]+)+")
_TOKEN = re.compile(r"\s*(?:('(?:[^'\\]|\\.)*')|([=(),@])|([A-Za-z0-9_.\-]+))")
_KEYWORDS = {"and", "or", "not", "every", "any", "of", "present", "absent", "has", "value",
             "null", "in", "matches"}
# structural predicates that do not tell two XPath steps apart when finding a repeat
_NOISE = re.compile(r"\[\d+\]|\[@(?:classCode|moodCode|determinerCode)=['\"][^'\"]*['\"]\]")


_POSITION = re.compile(r"\[\d+\]")
_TYPE_CODE = re.compile(r"\[@typeCode='[^']*'\]")


class RuleError(ValueError):
    """A conditional rule that does not parse or names an element the checker cannot read."""


# --- syntax ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    element: str
    attribute: str | None = None


@dataclass(frozen=True, slots=True)
class Atom:
    subject: Subject
    check: str  # present, absent, has-value, in, null, matches
    values: tuple[str, ...] = ()
    values_of: str | None = None  # element number whose values form the set
    every: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Atom | Not | And | Or


def tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise RuleError(f"cannot read {text[pos:]!r} in {text!r}")
        tokens.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def fail(self, wanted: str) -> RuleError:
        got = self.tokens[self.i] if self.i < len(self.tokens) else "end of text"
        return RuleError(f"expected {wanted}, found {got!r} in {self.text!r}")

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, *wanted: str) -> str:
        tok = self.peek()
        if tok is None or (wanted and tok not in wanted):
            raise self.fail(" or ".join(repr(w) for w in wanted) or "more text")
        self.i += 1
        return tok

    def parse(self) -> Expr:
        expr = self.expr()
        if self.peek() is not None:
            raise self.fail("'and', 'or' or the end")
        return expr

    def expr(self) -> Expr:
        parts = [self.term()]
        while self.peek() == "or":
            self.i += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def term(self) -> Expr:
        parts = [self.factor()]
        while self.peek() == "and":
            self.i += 1
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def factor(self) -> Expr:
        tok = self.peek()
        if tok == "not":
            self.i += 1
            return Not(self.factor())
        if tok == "(":
            self.i += 1
            inner = self.expr()
            self.take(")")
            return inner
        if tok == "any":
            self.i += 1
            self.take("of")
            self.take("(")
            elements = [self.element()]
            while self.peek() == ",":
                self.i += 1
                elements.append(self.element())
            self.take(")")
            first = self.check(Subject(elements[0]), every=False)
            tests = [dataclasses.replace(first, subject=Subject(e)) for e in elements]
            return tests[0] if len(tests) == 1 else Or(tuple(tests))
        every = tok == "every"
        if every:
            self.i += 1
        subject = Subject(self.element())
        if self.peek() == "@":
            self.i += 1
            attr = self.take()
            if not re.fullmatch(r"[A-Za-z][\w]*", attr):
                raise RuleError(f"{attr!r} is not an attribute name in {self.text!r}")
            subject = Subject(subject.element, attr)
        return self.check(subject, every)

    def element(self) -> str:
        tok = self.take()
        if not ELEMENT.fullmatch(tok):
            self.i -= 1
            raise self.fail("a data element number")
        return tok

    def check(self, subject: Subject, every: bool) -> Atom:
        start = self.i
        tok = self.take()
        if tok in ("present", "absent"):
            if every:
                raise RuleError(f"'every' cannot go with {tok!r} in {self.text!r}")
            result = Atom(subject, tok)
        elif tok == "has":
            self.take("value")
            result = Atom(subject, "has-value", every=every)
        elif tok in ("=", "in", "null"):
            values, of = self.values()
            result = Atom(subject, "null" if tok == "null" else "in", values, of, every)
        elif tok == "matches":
            pattern = self.take()
            if not pattern.startswith("'"):
                raise RuleError(f"'matches' needs a quoted pattern in {self.text!r}")
            regex = _unquote(pattern)
            try:
                re.compile(regex)
            except re.error as exc:
                raise RuleError(f"bad pattern {regex!r} in {self.text!r}: {exc}") from exc
            result = Atom(subject, "matches", (regex,), every=every)
        else:
            self.i = start
            raise self.fail("present, absent, has value, =, in, null or matches")
        return result

    def values(self) -> tuple[tuple[str, ...], str | None]:
        tok = self.peek()
        if tok == "(":
            self.i += 1
            out = [self.value()]
            while self.peek() == ",":
                self.i += 1
                out.append(self.value())
            self.take(")")
            return tuple(out), None
        if tok is not None and ELEMENT.fullmatch(tok):
            self.i += 1
            return (), tok
        return (self.value(),), None

    def value(self) -> str:
        tok = self.take()
        if tok.startswith("'"):
            return _unquote(tok)
        if tok in _KEYWORDS or tok in "=(),@" or ELEMENT.fullmatch(tok):
            self.i -= 1
            raise self.fail("a value (quote it if it looks like a word of the language)")
        return tok


def _unquote(tok: str) -> str:
    return re.sub(r"\\(.)", r"\1", tok[1:-1])


def parse(text: str) -> Expr:
    """Parse one predicate; raises :class:`RuleError` naming what was expected."""
    return _Parser(text).parse()


def elements_of(expr: Expr) -> set[str]:
    if isinstance(expr, Atom):
        return {expr.subject.element} | ({expr.values_of} if expr.values_of else set())
    if isinstance(expr, Not):
        return elements_of(expr.operand)
    return set().union(*(elements_of(e) for e in expr.operands))


def guards(expr: Expr) -> set[str]:
    """Elements that must occur somewhere in the message for ``expr`` to hold."""
    if isinstance(expr, Atom):
        # An attribute test reads nodes the value look-up skips (no value, no nullFlavor).
        if expr.check == "absent" or expr.every or expr.subject.attribute:
            return set()
        return {expr.subject.element}
    if isinstance(expr, And):
        return set().union(*(guards(e) for e in expr.operands))
    if isinstance(expr, Or):
        sets = [guards(e) for e in expr.operands]
        return set.intersection(*sets)
    return set()


def triggers(expr: Expr) -> frozenset[str] | None:
    """Elements of which at least one must be present where ``expr`` holds (None: unknown)."""
    if isinstance(expr, Atom):
        if expr.check == "absent" or expr.every or expr.subject.attribute:
            return None
        return frozenset({expr.subject.element})
    if isinstance(expr, And):
        found = [t for t in map(triggers, expr.operands) if t is not None]
        return min(found, key=len) if found else None
    if isinstance(expr, Or):
        parts = [triggers(e) for e in expr.operands]
        known = [p for p in parts if p is not None]
        return frozenset[str]().union(*known) if len(known) == len(parts) else None
    return None


# --- evaluation --------------------------------------------------------------------------


Nodes = Callable[[str], list[tuple[etree._Element, ElementRule]]]


class _Occurrence(NamedTuple):
    node: etree._Element
    rule: ElementRule
    value: str | None
    null: str | None


_new = tuple.__new__  # builds an _Occurrence without the Python-level __new__ (hot path)


def _occurrence(node: etree._Element, rule: ElementRule) -> _Occurrence:
    leaf = rule.leaf
    if leaf[:1] == "@":
        v = node.get(leaf[1:])
    elif leaf == "text()":
        v = node.text
    else:
        v = "present"
    v = v.strip() if v else None
    return _new(_Occurrence, (node, rule, v or None, node.get("nullFlavor")))


@cache
def _twinned(schemas: Path) -> frozenset[str]:
    """Numbers read by more than one XPath: their nodes may come twice."""
    counts: dict[str, int] = {}
    for r in element_rules(schemas):
        if r.checked:
            counts[r.number] = counts.get(r.number, 0) + 1
    return frozenset(n for n, c in counts.items() if c > 1)


class _Message:
    """Occurrences of each element number in one message, read once and shared by the rules."""

    __slots__ = ("cache", "groups", "msg", "nodes", "repeats", "twinned")

    def __init__(self, msg: etree._Element, nodes: Nodes, twinned: frozenset[str]) -> None:
        self.msg = msg
        self.nodes = nodes
        self.twinned = twinned
        self.cache: dict[str, list[_Occurrence]] = {}
        self.groups: dict[tuple[str, str], dict[etree._Element, list[_Occurrence]]] = {}
        self.repeats: dict[str, list[etree._Element]] = {}

    def __call__(self, key: str) -> list[_Occurrence]:
        """The element's occurrences that carry a value or a nullFlavor; with the key
        ``NUMBER@`` all its nodes (for the tests of one of their attributes)."""
        out = self.cache.get(key)
        if out is None:
            number = key.removesuffix("@")
            pairs = self.nodes(number)
            if not pairs:
                out = self.cache[key] = []
                return out
            if number in self.twinned:
                pairs = list({id(n): (n, r) for n, r in reversed(pairs)}.values())[::-1]
            out = [_occurrence(n, r) for n, r in pairs]
            if key == number:
                out = [o for o in out if o[2] is not None or o[3] is not None]
            self.cache[key] = out
        return out

    def all_repeats(self, per: Scope) -> list[etree._Element]:
        found = self.repeats.get(per.name)
        if found is None:
            found = self.repeats[per.name] = per.find(self.msg)
        return found

    def by_repeat(self, per: Scope, number: str) -> dict[etree._Element, list[_Occurrence]]:
        """The element's occurrences grouped by the repeat of ``per`` they sit in."""
        key = (per.name, number)
        grouped = self.groups.get(key)
        if grouped is None:
            grouped = {}
            for o in self(number):
                grouped.setdefault(per.instance(o), []).append(o)
            self.groups[key] = grouped
        return grouped


Occurrences = Callable[[str], list[_Occurrence]]
Predicate = Callable[[Occurrences], bool]


def compile_expr(expr: Expr) -> Predicate:
    """Turn a parsed predicate into a function of an occurrence lookup."""
    if isinstance(expr, Not):
        inner = compile_expr(expr.operand)
        return lambda occ: not inner(occ)
    if isinstance(expr, And):
        parts = [compile_expr(e) for e in expr.operands]
        return lambda occ: all(p(occ) for p in parts)
    if isinstance(expr, Or):
        parts = [compile_expr(e) for e in expr.operands]
        return lambda occ: any(p(occ) for p in parts)
    return _compile_test(expr)


def _compile_test(t: Atom) -> Predicate:
    attr = t.subject.attribute
    number = t.subject.element + ("@" if attr else "")  # the lookup key, see _Message

    def present(o: _Occurrence) -> bool:
        if attr is not None:
            return o.node.get(attr) is not None
        return o.value is not None or o.null is not None

    if t.check in ("present", "absent") and attr is None:
        if t.check == "present":
            return lambda occ: bool(occ(number))
        return lambda occ: not occ(number)
    if t.check == "present":
        return lambda occ: any(present(o) for o in occ(number))
    if t.check == "absent":
        return lambda occ: not any(present(o) for o in occ(number))

    def value(o: _Occurrence) -> str | None:
        return o.node.get(attr) if attr is not None else o.value

    one: Callable[[_Occurrence, Occurrences], bool]
    if t.check == "has-value":
        def one(o: _Occurrence, occ: Occurrences) -> bool:
            return value(o) is not None
    elif t.check == "null":
        allowed = frozenset(t.values)

        def one(o: _Occurrence, occ: Occurrences) -> bool:
            return o.null in allowed
    elif t.check == "matches":
        regex = re.compile(t.values[0])

        def one(o: _Occurrence, occ: Occurrences) -> bool:
            v = value(o)
            return v is not None and regex.search(v) is not None
    elif t.values_of is not None:
        other = t.values_of

        def one(o: _Occurrence, occ: Occurrences) -> bool:
            v = value(o)
            return v is not None and v in {x.value for x in occ(other)}
    else:
        allowed = frozenset(t.values)

        def one(o: _Occurrence, occ: Occurrences) -> bool:
            return value(o) in allowed

    if t.every:
        return lambda occ: all(one(o, occ) for o in occ(number) if present(o))
    return lambda occ: any(one(o, occ) for o in occ(number))


# --- repeats -----------------------------------------------------------------------------


def _steps(rule: ElementRule) -> list[str]:
    return [_NOISE.sub("", key).replace('"', "'") for g in rule.step_chains for key, _ in g]


def _is_member(number: str, scope: str) -> bool:
    if not number.startswith(scope):
        return False
    rest = number[len(scope):]
    return rest == "" or rest[0] == "." or bool(re.fullmatch(r"[a-z]", rest[0]))


def _same_step(steps: set[str]) -> bool:
    """Whether the XPath steps select the same element. The alternative XPaths of the overrides
    file leave out structural predicates, so a step without them matches one with them."""
    names = {s.split("[", 1)[0] for s in steps}
    type_codes = {m.group(0) for s in steps for m in [_TYPE_CODE.search(s)] if m}
    rest = {_TYPE_CODE.sub("", s) for s in steps}
    return len(names) == 1 and len(type_codes) <= 1 and len({s for s in rest if "[" in s}) <= 1


@dataclass(frozen=True, slots=True)
class Scope:
    """A repeat: how far above each member element's node its repeat element sits."""

    name: str
    depth: int  # steps from the message element to the repeat element
    climb: dict[int, int]  # id(element rule) -> levels from its node up to the repeat element
    find: Selector  # the repeat elements, from the message element

    def instance(self, o: _Occurrence) -> etree._Element:
        el = o.node
        ancestors = el.iterancestors()
        for _ in range(self.climb[id(o.rule)]):
            el = next(ancestors)
        return el


@cache
def scope(name: str, schemas: Path) -> Scope:
    members = [r for r in element_rules(schemas) if r.checked and _is_member(r.number, name)]
    if not members:
        raise RuleError(f"'per': no checkable data element starts with {name}")
    if any(r.batch_level for r in members):
        raise RuleError(f"'per': {name} is part of the batch header, which does not repeat")
    depth, paths, raw = _shared_steps(members, f"'per' {name}")
    # the most specific spelling of each shared step, without positions so that every
    # repeat is found
    shared = [_POSITION.sub("", max((p[i] for p in raw), key=len)) for i in range(depth)]
    return Scope(name, depth, {id(r): len(p) - depth for r, p in zip(members, paths, strict=True)},
                 _step("/".join(shared)))


def _shared_steps(members: list[ElementRule], label: str
                  ) -> tuple[int, list[list[str]], list[list[str]]]:
    """How many leading XPath steps the members share, with their normalised and raw steps."""
    paths = [_steps(r) for r in members]
    for r, steps in zip(members, paths, strict=True):
        bad = [s for s in steps if not re.fullmatch(r"[A-Za-z_][\w-]*(?:\[.*\])?", s)]
        if bad:
            raise RuleError(f"{label}: step {bad[0]!r} of {r.number} is not one level")
    depth = 0
    while all(len(p) > depth for p in paths) and _same_step({p[depth] for p in paths}):
        depth += 1
    if depth == 0:
        raise RuleError(f"{label}: its elements share no repeating element")
    return depth, paths, [[key for g in r.step_chains for key, _ in g] for r in members]


@cache
def _section(numbers: frozenset[str], schemas: Path) -> Selector | None:
    """An XPath finding the element all these elements sit in (None when there is none): when
    it finds nothing in a message, none of them is there, which costs one call, not one
    lookup per element. The least specific spelling of each step keeps it a superset."""
    members = [r for r in element_rules(schemas) if r.checked and r.number in numbers]
    if not members or any(r.batch_level for r in members):
        return None
    try:
        depth, _, raw = _shared_steps(members, "section")
    except RuleError:
        return None
    shared = [_POSITION.sub("", min((p[i] for p in raw), key=len)) for i in range(depth)]
    return _step("/".join(shared))


# --- rules -------------------------------------------------------------------------------


@dataclass(slots=True)
class ConditionalRule:
    id: str
    source: str
    profiles: frozenset[str]
    element: str
    message: str
    severity: str
    when: Expr | None
    then: Expr
    per: Scope | None = None
    guard: tuple[str, ...] = ()
    scoped: frozenset[str] = frozenset()  # elements read from the repeat, not the message
    # the part of 'when' that does not depend on the repeat, tested once per message
    test_outside: Predicate | None = None
    # for "when any of (many elements) present": the element they all sit in, looked up first
    section: Selector | None = None
    # "per R: when A present then B present", the commonest form, evaluated as set difference
    pair: tuple[str, str] | None = None
    discover: tuple[str, ...] | None = None  # visit the repeats holding these (else all)
    test_when: Predicate = field(default=lambda occ: True)
    test_then: Predicate = field(default=lambda occ: True)


def _readable(schemas: Path) -> set[str]:
    return {r.number for r in element_rules(schemas) if r.checked}


def build(entry: dict[str, Any], schemas: Path = BUNDLED_SCHEMAS) -> ConditionalRule:
    """One rule from its JSON entry, checked against the element table of ``schemas`` (raises
    RuleError)."""
    rid = entry.get("id", "?")
    try:
        profiles = frozenset(entry["profiles"])
        severity = entry.get("severity", "error")
        when = parse(entry["when"]) if entry.get("when") else None
        then = parse(entry["then"])
        rule = ConditionalRule(rid, entry["source"], profiles, entry["element"],
                               entry["message"], severity, when, then)
    except KeyError as exc:
        raise RuleError(f"rule {rid}: missing {exc.args[0]!r}") from exc
    except RuleError as exc:
        raise RuleError(f"rule {rid}: {exc}") from exc
    if not profiles or not profiles <= set(PROFILES):
        raise RuleError(f"rule {rid}: profiles must be some of {', '.join(PROFILES)}")
    if severity not in SEVERITIES:
        raise RuleError(f"rule {rid}: severity must be error or warning")
    named = elements_of(then) | (elements_of(when) if when else set())
    unknown = sorted(named - _readable(schemas))
    if unknown:
        raise RuleError(f"rule {rid}: no checkable XPath for {', '.join(unknown)}")
    rule.guard = tuple(sorted(guards(when))) if when else ()
    if "per" in entry:
        try:
            rule.per = scope(entry["per"], schemas)
        except RuleError as exc:
            raise RuleError(f"rule {rid}: {exc}") from exc
        members = _member_numbers(rule.per.name, schemas)
        rule.scoped = frozenset(named & members)
        # a repeat can only break the rule where 'when' holds, so when 'when' needs some of
        # the repeat's own elements, only the repeats holding one of them are visited
        needed = triggers(when) if when else None
        if isinstance(when, And):
            outside = [e for e in when.operands if not elements_of(e) & members]
            if outside:
                rule.test_outside = compile_expr(And(tuple(outside)))
        elif when is not None and not elements_of(when) & members:
            rule.test_outside = compile_expr(when)
        rule.discover = tuple(sorted(needed)) if needed and needed <= members else None
    if isinstance(when, Or) and len(when.operands) >= _SECTION_MIN:
        present = [e for e in when.operands if _plain_presence(e)]
        if len(present) == len(when.operands):
            rule.section = _section(frozenset(e.subject.element for e in present), schemas)
    rule.test_when = compile_expr(when) if when else rule.test_when
    rule.test_then = compile_expr(then)
    if rule.per is not None and _plain_presence(when) and _plain_presence(then) and \
            {when.subject.element, then.subject.element} <= rule.scoped:
        rule.pair = (when.subject.element, then.subject.element)
    return rule


def _plain_presence(e: Expr | None) -> TypeGuard[Atom]:
    return isinstance(e, Atom) and e.check == "present" and e.subject.attribute is None


def conditional_rules(schemas: Path = BUNDLED_SCHEMAS) -> tuple[ConditionalRule, ...]:
    """The rules of ``schemas``: built once per folder (see ``element_rules`` for why the cache
    is apart from the default)."""
    return _conditional_rules(schemas)


@cache
def _conditional_rules(schemas: Path) -> tuple[ConditionalRule, ...]:
    data = json.loads((schemas / RULES_FILE).read_text("utf-8"))
    return tuple(build(entry, schemas) for entry in data["rules"])


@cache
def _for_profile(profile: str, schemas: Path) -> tuple[ConditionalRule, ...]:
    return tuple(r for r in _conditional_rules(schemas) if profile in r.profiles)


Result = tuple[str, str, str, str, str]  # element, xpath, rule, message, severity


def evaluate(msg: etree._Element, profile: str, nodes: Nodes,
             where: Callable[[etree._Element], str],
             schemas: Path = BUNDLED_SCHEMAS) -> list[Result]:
    """Findings of the profile's conditional rules for one message.

    ``nodes(number)`` gives the element's nodes in this message (or the batch header) with
    the element rule of ``schemas`` that found each; ``where`` renders a node's XPath for the
    report.
    """
    occ = _Message(msg, nodes, _twinned(schemas))
    out: list[Result] = []
    for first, rules in _plan(profile, schemas):
        if first is not None and not occ(first):
            continue
        for rule in rules:
            for g in rule.guard[1:]:
                if not occ(g):
                    break
            else:
                if rule.section is None or rule.section(msg):
                    _apply(rule, msg, occ, where, out)
    return out


@cache
def _plan(profile: str,
          schemas: Path) -> tuple[tuple[str | None, tuple[ConditionalRule, ...]], ...]:
    """The profile's rules grouped by their first guard element, so that an absent element
    skips all its rules with one lookup."""
    groups: dict[str | None, list[ConditionalRule]] = {}
    for rule in _for_profile(profile, schemas):
        groups.setdefault(rule.guard[0] if rule.guard else None, []).append(rule)
    return tuple((first, tuple(rules)) for first, rules in groups.items())


def _apply(rule: ConditionalRule, msg: etree._Element, occ: _Message,
           where: Callable[[etree._Element], str], out: list[Result]) -> None:
    per = rule.per
    if per is None:
        if rule.test_when(occ) and not rule.test_then(occ):
            out.append((rule.element, where(msg), f"conditional:{rule.id}", rule.message,
                        rule.severity))
        return
    if rule.pair is not None:
        having = occ.by_repeat(per, rule.pair[1])
        for instance in occ.by_repeat(per, rule.pair[0]):
            if instance not in having:
                out.append((rule.element, where(instance), f"conditional:{rule.id}",
                            rule.message, rule.severity))
        return
    if rule.test_outside is not None and not rule.test_outside(occ):
        return
    instances: Iterable[etree._Element]
    if rule.discover is None:
        instances = occ.all_repeats(per)
    elif len(rule.discover) == 1:
        instances = occ.by_repeat(per, rule.discover[0])
    else:
        discovered: dict[etree._Element, None] = {}  # in the order found, without repeats
        for number in rule.discover:
            discovered.update(dict.fromkeys(occ.by_repeat(per, number)))
        instances = discovered
    scoped = rule.scoped
    for instance in instances:
        def local(number: str, instance: etree._Element = instance) -> list[_Occurrence]:
            if number.removesuffix("@") in scoped:
                return occ.by_repeat(per, number).get(instance, [])
            return occ(number)

        if rule.test_when(local) and not rule.test_then(local):
            out.append((rule.element, where(instance), f"conditional:{rule.id}",
                        rule.message, rule.severity))


@cache
def _member_numbers(name: str, schemas: Path) -> frozenset[str]:
    return frozenset(r.number for r in element_rules(schemas)
                     if r.checked and _is_member(r.number, name))

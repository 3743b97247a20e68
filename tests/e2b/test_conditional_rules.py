"""The FDA/ICH conditional business rules: their table, their predicate language, and one
hand-broken message per kind of rule that must fail naming the element number."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from factories.e2b import example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from safety.e2b import conditional
from safety.e2b.conditional import (
    And,
    Atom,
    Expr,
    Not,
    Or,
    RuleError,
    Subject,
    build,
    compile_expr,
    conditional_rules,
    parse,
    tokenize,
)
from safety.e2b.conformance import Finding, check
from safety.e2b.export import export_case
from safety.e2b.hl7 import NS
from safety.e2b.sample import sample_full_case
from safety.e2b.writer import ExportHeader
from safety.package_data import BUNDLED_SCHEMAS

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
FDA_TABLE = BUNDLED_SCHEMAS / "reference" / "fda-rejection-warning-rules.csv"
OID = "2.16.840.1.113883.3.989"
CORE = "h:PORR_IN049016UV/h:controlActProcess/h:subject/h:investigationEvent"


# --- the rule table ----------------------------------------------------------------------


def _fda_rows() -> dict[str, tuple[int, list[str]]]:
    """FDA error id -> (line where its CSV row starts, row)."""
    out = {}
    with FDA_TABLE.open(encoding="utf-8-sig", newline="") as fh:
        reader, start = csv.reader(fh), 1
        for row in reader:
            if len(row) > 5 and row[5].strip().startswith(("R0", "W0")):
                out[row[5].strip()] = (start, row)
            start = reader.line_num + 1
    return out


def test_every_rule_loads_and_cites_its_source_row() -> None:
    rows = _fda_rows()
    rules = conditional_rules()
    assert len({r.id for r in rules}) == len(rules)
    for rule in rules:
        if rule.id.startswith("ICH-"):
            assert "ich-core-data-elements" in rule.source
            continue
        line, row = rows[rule.id]
        assert rule.source == f"fda-rejection-warning-rules.csv line {line} ({rule.id})"
        # rejections are errors and warnings are warnings, as the table's columns say
        rejection, warning = row[3].strip() != "", row[4].strip() != ""
        assert (rule.severity == "error") == rejection and (rule.severity == "warning") == warning
        assert rule.profiles <= {"fda-postmarket", "fda-premarket"}


def test_fda_rules_are_transcribed_or_explained() -> None:
    """Every FDA error id is a rule or is listed in schemas/README.md with its reason."""
    transcribed = {r.id for r in conditional_rules()}
    readme = (Path(__file__).resolve().parents[2] / "schemas" / "README.md").read_text("utf-8")
    missing = [i for i in _fda_rows() if i not in transcribed and f"| {i} " not in readme]
    assert missing == []


def test_rule_naming_an_unreadable_element_is_refused() -> None:
    entry = {"id": "X1", "source": "test", "profiles": ["ich"], "element": "C.1.1",
             "then": "FDA.G.k.12.r.7 present", "message": "m"}
    with pytest.raises(RuleError, match=r"FDA\.G\.k\.12\.r\.7"):
        build(entry)
    with pytest.raises(RuleError, match="per"):
        build(entry | {"then": "C.1.1 present", "per": "N.1"})
    with pytest.raises(RuleError, match="severity"):
        build(entry | {"then": "C.1.1 present", "severity": "fatal"})


def test_rules_file_is_the_one_loaded() -> None:
    data = json.loads((BUNDLED_SCHEMAS / conditional.RULES_FILE).read_text("utf-8"))
    assert [e["id"] for e in data["rules"]] == [r.id for r in conditional_rules()]


# --- the predicate language --------------------------------------------------------------


NUMBERS = ["C.1.3", "N.2.r.3", "FDA.C.5.5a", "G.k.1", "D.7.1.r.1b", "FDA.G2.k.1"]
elements = st.sampled_from(NUMBERS)
words = st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True).filter(
    lambda w: w not in {"and", "or", "not", "every", "any", "of", "present", "absent", "has",
                        "value", "null", "in", "matches"})
quoted = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=10)


@st.composite
def atoms(draw: st.DrawFn) -> Atom:
    subject = Subject(draw(elements), draw(st.sampled_from([None, "representation"])))
    check_ = draw(st.sampled_from(["present", "absent", "has-value", "in", "null", "matches"]))
    every = check_ not in ("present", "absent") and draw(st.booleans())
    if check_ in ("in", "null"):
        if check_ == "in" and draw(st.booleans()):
            return Atom(subject, "in", (), draw(elements), every)
        values = tuple(draw(st.lists(st.one_of(words, quoted), min_size=1, max_size=3)))
        return Atom(subject, check_, values, None, every)
    if check_ == "matches":
        return Atom(subject, "matches", (draw(st.sampled_from(["^IND", "(?i)a|b", "x'y"])),),
                    None, every)
    return Atom(subject, check_, (), None, every)


exprs = st.recursive(
    atoms(),
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=8,
)


def _q(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(e: Expr) -> str:
    """The text form of a parsed predicate, fully parenthesised."""
    if isinstance(e, Not):
        return f"not ({render(e.operand)})"
    if isinstance(e, And | Or):
        word = " and " if isinstance(e, And) else " or "
        return word.join(f"({render(x)})" for x in e.operands)
    subject = e.subject.element + (f"@{e.subject.attribute}" if e.subject.attribute else "")
    head = ("every " if e.every else "") + subject
    if e.check in ("present", "absent"):
        return f"{head} {e.check}"
    if e.check == "has-value":
        return f"{head} has value"
    if e.check == "matches":
        return f"{head} matches {_q(e.values[0])}"
    word = "null" if e.check == "null" else "in"
    if e.values_of:
        return f"{head} = {e.values_of}"
    return f"{head} {word} ({', '.join(_q(v) for v in e.values)})"


@SETTINGS
@given(exprs)
def test_parse_reads_back_what_render_writes(expr: Expr) -> None:
    assert parse(render(expr)) == expr


@SETTINGS
@given(st.text(max_size=60))
def test_parser_fails_only_with_a_rule_error(text: str) -> None:
    try:
        parse(text)
    except RuleError as exc:
        assert text.strip() == "" or str(exc)


@SETTINGS
@given(st.lists(st.sampled_from(["C.1.3", "=", "in", "(", ")", ",", "1", "2", "and", "or",
                                 "not", "present", "absent", "every", "has", "value",
                                 "null", "NI", "any", "of", "D.1"]), max_size=12))
def test_token_soup_parses_or_names_what_was_expected(tokens: list[str]) -> None:
    text = " ".join(tokens)
    try:
        parse(text)
    except RuleError as exc:
        assert "expected" in str(exc) or "cannot" in str(exc) or "every" in str(exc)


def test_tokenizer_keeps_quoted_values_whole() -> None:
    assert tokenize("D.1 = 'A B, C'") == ["D.1", "=", "'A B, C'"]
    assert parse("D.1 in ('A B', x)") == Atom(Subject("D.1"), "in", ("A B", "x"))
    assert parse("any of (D.1, C.1.3) present") == Or(
        (Atom(Subject("D.1"), "present"), Atom(Subject("C.1.3"), "present")))


@pytest.mark.parametrize("text", [
    "", "C.1.3", "C.1.3 =", "C.1.3 = (1,", "every C.1.3 present", "C.1.3 matches x",
    "C.1.3 matches '('", "1 = 1", "C.1.3 = 1 and", "(C.1.3 present", "C.1.3 present )",
    "C.1.3 = and", "C.1.3@1x present",
])
def test_malformed_predicates_are_refused(text: str) -> None:
    with pytest.raises(RuleError):
        parse(text)


# semantics on made-up occurrences: value, nullFlavor per element


class _Node:
    def __init__(self, attrs: dict[str, str]) -> None:
        self.attrs = attrs

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)


occurrence = st.tuples(st.sampled_from([None, "1", "2", "3"]),
                       st.sampled_from([None, "NI", "NA"]),
                       st.sampled_from([None, "B64", "TXT"]))
worlds = st.dictionaries(elements, st.lists(occurrence, max_size=3))


def _lookup(world: dict) -> Callable:
    """The lookup contract of the checker: occurrences with a value or a nullFlavor, or all
    nodes for the key ``NUMBER@``."""
    def occ(key: str) -> list:
        out = []
        for value, null, rep in world.get(key.removesuffix("@"), []):
            if key.endswith("@") or value is not None or null is not None:
                attrs = {"representation": rep} if rep else {}
                out.append(conditional._Occurrence(_Node(attrs), None, value, null))  # type: ignore[arg-type]
        return out
    return occ


def _meaning(e: Expr, world: dict) -> bool:
    """The documented meaning of a predicate, written out plainly."""
    if isinstance(e, Not):
        return not _meaning(e.operand, world)
    if isinstance(e, And):
        return all(_meaning(x, world) for x in e.operands)
    if isinstance(e, Or):
        return any(_meaning(x, world) for x in e.operands)
    occs = world.get(e.subject.element, [])
    attr = e.subject.attribute

    def value(o: tuple) -> str | None:
        return o[2] if attr else o[0]

    def present(o: tuple) -> bool:
        return o[2] is not None if attr else (o[0] is not None or o[1] is not None)

    if e.check == "present":
        return any(present(o) for o in occs)
    if e.check == "absent":
        return not any(present(o) for o in occs)
    if e.check == "has-value":
        def test(o: tuple) -> bool:
            return value(o) is not None
    elif e.check == "null":
        def test(o: tuple) -> bool:
            return o[1] in e.values
    elif e.check == "matches":
        import re

        def test(o: tuple) -> bool:
            return value(o) is not None and re.search(e.values[0], value(o)) is not None
    else:
        allowed = ({o[0] for o in world.get(e.values_of, [])} - {None} if e.values_of
                   else set(e.values))

        def test(o: tuple) -> bool:
            return value(o) in allowed
    if e.every:
        return all(test(o) for o in occs if present(o))
    return any(test(o) for o in occs)


@SETTINGS
@given(exprs, worlds)
def test_compiled_predicates_mean_what_the_grammar_says(expr: Expr, world: dict) -> None:
    assert compile_expr(expr)(_lookup(world)) == _meaning(expr, world)


@SETTINGS
@given(exprs, worlds)
def test_guards_are_only_skipped_when_the_predicate_cannot_hold(expr: Expr, world: dict) -> None:
    """A rule is skipped when a guard element is absent: then 'when' must be false. The guard
    look-up sees only occurrences with a value or a nullFlavor, so an attribute test (which
    also reads occurrences with neither) must never be a guard."""
    holds = compile_expr(expr)(_lookup(world))
    present = {n for n, occs in world.items() if any(v is not None or nf is not None
                                                     for v, nf, _ in occs)}
    if holds:
        assert conditional.guards(expr) <= present
        trig = conditional.triggers(expr)
        assert trig is None or trig & present


# --- hand-broken messages ----------------------------------------------------------------


def mutate(data: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(data)
    change(root)
    return etree.tostring(root)


def the(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert found, path
    return found[0]


def conditional_findings(data: bytes, profile: str) -> list[Finding]:
    return [f for f in check(data, profile) if f.rule.startswith("conditional:")]


def named(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.element, f.rule.removeprefix("conditional:")) for f in findings}


def _receiver(root: etree._Element, root_oid: str, value: str, batch: bool = False) -> None:
    base = "/h:MCCI_IN200100UV01" if batch else "//h:PORR_IN049016UV"
    the(root, f"{base}/h:receiver/h:device/h:id[@root='{OID}.2.1.3.{root_oid}']").set(
        "extension", value)


def _report_type(root: etree._Element, code: str) -> None:
    the(root, "//h:investigationCharacteristic[h:code/@code='1']/h:value").set("code", code)


def _postmarket(root: etree._Element) -> None:
    _receiver(root, "14", "ZZFDA", batch=True)
    _receiver(root, "12", "CDER")


def test_allowed_value_rule_names_the_receiver() -> None:
    data = mutate(example("FAERS2022Scenario1.xml"), lambda r: _receiver(r, "12", "CDER_IND"))
    assert ("N.2.r.3", "R0006") in named(conditional_findings(data, "fda-postmarket"))


def test_value_must_not_be_rule_names_the_report_type() -> None:
    data = mutate(example("FAERS2022Scenario3.xml"), lambda r: _report_type(r, "3"))
    found = named(conditional_findings(data, "fda-premarket"))
    assert ("C.1.3", "R0112") in found
    assert ("C.1.3", "R0008") in found


def test_required_when_rule_names_the_missing_ind_number() -> None:
    def drop(root: etree._Element) -> None:
        el = the(root, f"//h:studyRegistration/h:id[@root='{OID}.5.1.2.2.1.2.1']")
        el.getparent().getparent().remove(el.getparent())

    found = named(conditional_findings(mutate(example("FAERS2022Scenario3.xml"), drop),
                                       "fda-premarket"))
    assert ("FDA.C.5.5a", "R0024") in found


def test_forbidden_rule_names_ind_elements_in_a_postmarket_report() -> None:
    def to_postmarket(root: etree._Element) -> None:
        _postmarket(root)
        _report_type(root, "1")

    found = named(conditional_findings(mutate(example("FAERS2022Scenario3.xml"), to_postmarket),
                                       "fda-postmarket"))
    assert {("FDA.C.5.5a", "R0107"), ("FDA.C.5.6.r", "R0109"), ("C.5.4", "R0103")} <= found


def test_value_or_null_flavour_rule_names_cross_reported_inds() -> None:
    def drop(root: etree._Element) -> None:
        for el in root.xpath(f"//h:studyRegistration/h:id[@root='{OID}.5.1.2.2.1.2.3']",
                             namespaces=NS):
            el.getparent().getparent().remove(el.getparent())

    found = named(conditional_findings(mutate(example("FAERS2022Scenario3.xml"), drop),
                                       "fda-premarket"))
    assert ("FDA.C.5.6.r", "R0026") in found


def test_every_rule_names_a_drug_role_not_allowed_for_ind_reports() -> None:
    def role_4(root: etree._Element) -> None:
        the(root, "//h:causalityAssessment[h:code/@code='20']/h:value").set("code", "4")

    found = named(conditional_findings(mutate(example("FAERS2022Scenario3.xml"), role_4),
                                       "fda-premarket"))
    assert ("G.k.1", "R0070") in found


def test_element_against_element_rule_names_the_message_sender() -> None:
    def sender(root: etree._Element) -> None:
        the(root, "//h:PORR_IN049016UV/h:sender/h:device/h:id").set("extension", "OTHER")

    found = named(conditional_findings(mutate(example("FAERS2022Scenario1.xml"), sender),
                                       "fda-postmarket"))
    assert ("N.2.r.2", "R0100") in found


def test_pattern_rule_names_an_ind_number_as_authorisation() -> None:
    def study_postmarket(root: etree._Element) -> None:
        _postmarket(root)
        for el in root.xpath("//h:researchStudy/h:authorization", namespaces=NS):
            el.getparent().remove(el)
        the(root, "//h:researchStudy/h:code").set("code", "2")

    found = named(conditional_findings(
        mutate(example("FAERS2022Scenario3.xml"), study_postmarket), "fda-postmarket"))
    assert ("G.k.3.1", "R0114") in found  # Scenario 3 authorises a drug as IND123456


def test_null_flavour_rules_are_warnings_naming_race_and_ethnicity() -> None:
    def no_patient(root: etree._Element) -> None:
        name = the(root, "//h:primaryRole/h:player1/h:name")
        name.text = None
        name.set("nullFlavor", "NA")

    findings = conditional_findings(mutate(example("FAERS2022Scenario1.xml"), no_patient),
                                    "fda-postmarket")
    assert {("FDA.D.11.r.1", "W0003"), ("FDA.D.12", "W0004")} <= named(findings)
    assert {f.severity for f in findings if f.rule.endswith(("W0003", "W0004"))} == {"warning"}


def test_device_malfunction_without_event_needs_no_patient() -> None:
    def no_event(root: etree._Element) -> None:
        the(root, f"//{CORE}//h:observation[h:code/@code='29']/h:value").set("code", "10067482")

    found = named(conditional_findings(mutate(example("FAERS2022Scenario7.xml"), no_event),
                                       "fda-postmarket"))
    assert ("D.1", "R0027") in found


def test_device_rules_are_checked_per_device_part() -> None:
    def no_names(root: etree._Element) -> None:
        for name in root.xpath("//h:part/h:partProduct/h:name", namespaces=NS):
            name.getparent().remove(name)
        for code in root.xpath("//h:part/h:partProduct/h:code", namespaces=NS):
            code.getparent().remove(code)

    findings = conditional_findings(mutate(example("FAERS2022Scenario7.xml"), no_names),
                                    "fda-postmarket")
    assert {("FDA.G.k.12.r.4", "R0094"), ("FDA.G.k.12.r.5", "R0095"),
            ("FDA.G.k.12.r.6", "R0096")} <= named(findings)
    assert all("partProduct" in f.xpath for f in findings if f.rule.endswith("R0096"))


def _full() -> bytes:
    return export_case(sample_full_case(),
                       ExportHeader(sender_id="SD", destination="fda-postmarket")).xml


def test_full_sample_passes_every_fda_postmarket_rule() -> None:
    assert conditional_findings(_full(), "fda-postmarket") == []


def test_pair_rule_names_the_missing_unit_in_its_repeat() -> None:
    def no_unit(root: etree._Element) -> None:
        del the(root, "//h:comp/h:period").attrib["unit"]

    findings = conditional_findings(mutate(_full(), no_unit), "fda-postmarket")
    assert named(findings) == {("G.k.4.r.3", "R0076")}
    assert "substanceAdministration" in findings[0].xpath


def test_test_results_are_required_per_test_not_per_message() -> None:
    """Two other tests have results; the platelet count alone has none: only it fails."""

    def no_platelet_result(root: etree._Element) -> None:
        obs = the(root, "//h:observation[h:code/h:originalText='Platelets']")
        for tag in ("value", "interpretationCode"):
            obs.remove(obs.find(f"h:{tag}", NS))

    findings = conditional_findings(mutate(_full(), no_platelet_result), "fda-postmarket")
    assert named(findings) == {("F.r.3.1", "R0065"), ("F.r.3.2", "R0066"), ("F.r.3.4", "R0068")}
    assert len({f.xpath for f in findings}) == 1


def test_attribute_rule_names_an_uncompressed_document_encoding() -> None:
    def attach(root: etree._Element) -> None:
        doc = the(root, "//h:reference/h:document[h:code/@code='1']")
        text = etree.SubElement(doc, f"{{{NS['h']}}}text", mediaType="application/pdf",
                                representation="TXT")
        text.text = "JVBERi0xLjQK"

    found = named(conditional_findings(mutate(_full(), attach), "fda-postmarket"))
    assert ("C.1.6.1.r.2", "R0010") in found


def test_any_of_rule_names_the_missing_parent_sex() -> None:
    def no_parent_sex(root: etree._Element) -> None:
        sex = the(root, "//h:role[@classCode='PRS']//h:administrativeGenderCode")
        sex.getparent().remove(sex)

    found = named(conditional_findings(mutate(_full(), no_parent_sex), "fda-postmarket"))
    assert ("D.10.6", "R0051") in found


def test_attribute_tests_never_guard_a_rule() -> None:
    """`X@attr` reads occurrences with neither value nor nullFlavor, which the guard look-up
    skips: such an element must not be required up front."""
    expr = conditional.parse("C.1.6.1.r.2@representation = B64 and C.1.3 = 1")
    assert conditional.guards(expr) == {"C.1.3"}
    assert conditional.triggers(expr) == frozenset({"C.1.3"})
    only_attr = conditional.parse("C.1.6.1.r.2@representation = B64")
    assert conditional.guards(only_attr) == set() and conditional.triggers(only_attr) is None

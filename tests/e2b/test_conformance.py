"""The checker accepts the official instances and our exports, and names what is broken."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories.e2b import DATA, EXAMPLES, example
from lxml import etree

from safety.cli.e2b import e2b_group
from safety.e2b.conformance import Finding, check
from safety.e2b.export import export_case
from safety.e2b.hl7 import NS
from safety.e2b.rules import element_rules
from safety.e2b.sample import sample_case, sample_fatal_case
from safety.e2b.structure import STRUCTURE_FILE, derive
from safety.e2b.writer import ExportHeader
from safety.package_data import BUNDLED_SCHEMAS

INV = "h:PORR_IN049016UV/h:controlActProcess/h:subject/h:investigationEvent"
ROLE = f"{INV}/h:component/h:adverseEventAssessment/h:subject1/h:primaryRole"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_official_examples_pass_their_profile(name: str) -> None:
    assert check(example(name), EXAMPLES[name]) == []


@pytest.mark.parametrize("destination", ["fda-postmarket", "ema", "ema-ct", "ich"])
@pytest.mark.parametrize("make", [sample_case, sample_fatal_case])
def test_demo_case_exports_conformant(destination: str, make: Callable) -> None:
    result = export_case(make(), ExportHeader(sender_id="SAFETYDESK", destination=destination))
    assert result.findings == []
    assert result.ready


def test_wrong_profile_is_a_routing_error() -> None:
    findings = check(example("FAERS2022Scenario1.xml"), "fda-premarket")
    assert [(f.element, f.rule) for f in findings] == [("N.1.4", "routing")]


def broken(mutate: Callable[[etree._Element], None], *, fda: bool = True) -> bytes:
    dest = "fda-postmarket" if fda else "ema"
    xml = export_case(sample_case(), ExportHeader(sender_id="SD", destination=dest)).xml
    root = etree.fromstring(xml)
    mutate(root)
    return etree.tostring(root)


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.findall(path, NS)
    assert len(found) >= 1, path
    return found[0]


def rules_of(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.element, f.rule) for f in findings}


def test_missing_mandatory_element_is_named() -> None:
    def drop_case_id(root: etree._Element) -> None:
        el = one(root, f"{INV}/h:id")
        el.getparent().remove(el)

    findings = check(broken(drop_case_id), "fda-postmarket")
    assert ("C.1.1", "required") in rules_of(findings)
    f = next(f for f in findings if f.element == "C.1.1")
    assert "investigationEvent" in f.xpath


def test_missing_outcome_per_reaction_is_named() -> None:
    def drop_outcome(root: etree._Element) -> None:
        for rel in root.findall(f"{ROLE}/h:subjectOf2/h:observation/h:outboundRelationship2", NS):
            if rel.find("h:observation/h:code", NS).get("code") == "27":
                rel.getparent().remove(rel)
                return

    assert ("E.i.7", "required") in rules_of(check(broken(drop_outcome), "fda-postmarket"))


def test_bad_code_is_named() -> None:
    def bad_sex(root: etree._Element) -> None:
        one(root, f"{ROLE}/h:player1/h:administrativeGenderCode").set("code", "9")

    findings = check(broken(bad_sex), "fda-postmarket")
    assert ("D.5", "code") in rules_of(findings)


def test_empty_element_instead_of_null_flavour_is_named() -> None:
    def empty_initials(root: etree._Element) -> None:
        one(root, f"{ROLE}/h:player1/h:name").text = None

    assert ("D.1", "empty") in rules_of(check(broken(empty_initials), "fda-postmarket"))


def test_iso_date_is_named() -> None:
    def iso(root: etree._Element) -> None:
        one(root, f"{ROLE}/h:player1/h:birthTime").set("value", "1950-04-12")

    findings = check(broken(iso), "fda-postmarket")
    assert ("D.2.1", "date-format") in rules_of(findings)


def test_imprecise_and_future_dates_are_named() -> None:
    def imprecise(root: etree._Element) -> None:
        one(root, f"{INV}/h:availabilityTime").set("value", "202610")

    def future(root: etree._Element) -> None:
        one(root, f"{INV}/h:effectiveTime/h:low").set("value", "20990101")

    assert ("C.1.5", "date-precision") in rules_of(check(broken(imprecise), "ich"))
    assert ("C.1.4", "future-date") in rules_of(
        check(broken(future), "ich", now=datetime(2026, 11, 24, tzinfo=UTC)))


def test_disallowed_null_flavour_and_length_are_named() -> None:
    def nf(root: etree._Element) -> None:
        el = one(root, f"{INV}/h:id")
        del el.attrib["extension"]
        el.set("nullFlavor", "UNK")

    def long_name(root: etree._Element) -> None:
        one(root, f"{ROLE}/h:player1/h:name").text = "X" * 61

    assert ("C.1.1", "null-flavour") in rules_of(check(broken(nf), "ich"))
    assert ("D.1", "length") in rules_of(check(broken(long_name), "ich"))


def test_structure_order_and_nesting_are_checked() -> None:
    def swap(root: etree._Element) -> None:
        inv = one(root, INV)
        text = one(root, f"{INV}/h:text")
        inv.remove(text)
        inv.append(text)

    def stray(root: etree._Element) -> None:
        etree.SubElement(one(root, f"{ROLE}/h:player1"), "{urn:hl7-org:v3}favouriteColour")

    assert ("-", "order") in rules_of(check(broken(swap), "ich"))
    assert ("-", "structure") in rules_of(check(broken(stray), "ich"))


def test_conditional_rule_nullification_needs_reason() -> None:
    case = sample_case()
    case.admin.nullification_code = "1"
    result = export_case(case, ExportHeader(sender_id="SD", destination="ema"))
    assert not result.ready
    assert ("C.1.11.2", "conditional:ICH-C.1.11.2") in rules_of(result.findings)


def test_fda_regional_elements_are_required_for_fda_only() -> None:
    case = sample_case()
    case.patient.fda_race = []
    fda = export_case(case, ExportHeader(sender_id="SD", destination="fda-postmarket"))
    ema = export_case(case, ExportHeader(sender_id="SD", destination="ema"))
    assert ("FDA.D.11.r.1", "required") in rules_of(fda.findings)
    assert ema.ready


def test_malformed_file_is_a_finding_not_a_crash() -> None:
    findings = check(b"<MCCI_IN200100UV01><oops></MCCI_IN200100UV01>", "ich")
    assert findings[0].rule == "well-formed"
    assert findings[0].xpath.startswith("line ")


def test_every_rule_is_compiled_or_explained() -> None:
    rules = element_rules()
    assert sum(r.checked for r in rules) > 230
    assert all(r.checked or r.problem for r in rules)


def test_structure_table_matches_its_sources() -> None:
    files = sorted(p for p in DATA.glob("*.xml") if "ack" not in p.name)
    derived = derive(p.read_bytes() for p in files)
    stored = json.loads((BUNDLED_SCHEMAS / STRUCTURE_FILE).read_text("utf-8"))
    stored.pop("_source")
    assert derived == stored


SMALL_XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:hl7-org:v3"
           elementFormDefault="qualified">
  <xs:element name="MCCI_IN200100UV01">
    <xs:complexType>
      <xs:sequence>
        <xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="ITSVersion" type="xs:string" fixed="{version}"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def _xsd_dir(tmp: Path, version: str) -> Path:
    d = tmp / version / "multicacheschemas"
    d.mkdir(parents=True)
    (d / "MCCI_IN200100UV01.xsd").write_text(SMALL_XSD.format(version=version))
    return d.parent


def test_xsd_is_applied_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = example("FAERS2022Scenario1.xml")
    assert check(data, "fda-postmarket", xsd_dir=_xsd_dir(tmp_path, "XML_1.0")) == []
    findings = check(data, "fda-postmarket", xsd_dir=_xsd_dir(tmp_path, "XML_9.9"))
    assert [f.rule for f in findings] == ["xsd"]
    nowhere = tmp_path / "nowhere"
    assert [f.rule for f in check(data, "fda-postmarket", xsd_dir=nowhere)] == ["xsd"]
    # the folder is a parameter, never read from the environment
    monkeypatch.setenv("SAFETY_E2B_XSD_DIR", str(nowhere))
    assert check(data, "fda-postmarket") == []


def test_the_e2b_cli_applies_the_configured_xsd(tmp_path: Path) -> None:
    batch = tmp_path / "batch.xml"
    batch.write_bytes(example("FAERS2022Scenario1.xml"))
    runner = CliRunner()
    ok = runner.invoke(e2b_group, ["validate", str(batch), "--profile", "fda-postmarket"],
                       env={"SAFETY_E2B_XSD_DIR": str(_xsd_dir(tmp_path, "XML_1.0"))})
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(e2b_group, ["validate", str(batch), "--profile", "fda-postmarket"],
                        env={"SAFETY_E2B_XSD_DIR": str(_xsd_dir(tmp_path, "XML_9.9"))})
    assert bad.exit_code == 1 and "[xsd]" in bad.output


def test_the_checker_reads_the_schemas_folder_it_is_given(tmp_path: Path) -> None:
    """A deployment's own copy of the tables (SAFETY_SCHEMAS_DIR) is what the checker applies:
    here a copy with one extra conditional rule that every message breaks."""
    copy = tmp_path / "schemas"
    shutil.copytree(BUNDLED_SCHEMAS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    rules = json.loads((copy / "e2b-conditional-rules.json").read_text("utf-8"))
    rules["rules"].append({"id": "LOCAL-1", "source": "test", "profiles": ["ich"],
                           "element": "C.1.1", "then": "C.1.1 absent", "message": "local rule"})
    (copy / "e2b-conditional-rules.json").write_text(json.dumps(rules), "utf-8")
    header = ExportHeader(sender_id="SAFETYDESK", destination="ich")
    assert export_case(sample_case(), header).findings == []
    mine = export_case(sample_case(), header, schemas=copy).findings
    assert [(f.element, f.rule, f.message) for f in mine] == [
        ("C.1.1", "conditional:LOCAL-1", "local rule")]
    assert check(export_case(sample_case(), header).xml, "ich", schemas=copy) == mine
    assert element_rules(copy) is element_rules(copy)
    assert element_rules(copy) is not element_rules()
    assert element_rules() is element_rules(BUNDLED_SCHEMAS)


def test_case_without_reactions_or_suspect_drug_fails() -> None:
    case = sample_case()
    case.reactions = []
    for d in case.drugs:
        d.reactions = []
        d.role = "2"
    result = export_case(case, ExportHeader(sender_id="SD", destination="ema"))
    assert ("E.i.2.1b", "conditional:ICH-E.i") in rules_of(result.findings)
    assert ("G.k.1", "conditional:ICH-G.k") in rules_of(result.findings)
    assert not result.ready


def test_dosage_dates_are_checked_in_both_interval_forms() -> None:
    case = sample_case()
    case.drugs[1].dosages[0].start = None
    case.drugs[1].dosages[0].end = None
    xml = export_case(case, ExportHeader(sender_id="SD", destination="ema")).xml
    root = etree.fromstring(xml)
    eff = root.findall(f"{ROLE}/h:subjectOf2/h:organizer/h:component/h:substanceAdministration"
                       "/h:outboundRelationship2/h:substanceAdministration/h:effectiveTime", NS)
    assert {e.get("{http://www.w3.org/2001/XMLSchema-instance}type") for e in eff} == {"SXPR_TS"}

    def iso_start(root: etree._Element) -> None:
        for e in root.iter("{urn:hl7-org:v3}low"):
            if e.getparent().get("{http://www.w3.org/2001/XMLSchema-instance}type") == "IVL_TS" \
                    and e.getparent().getparent().tag.endswith("substanceAdministration"):
                e.set("value", "2025-01")

    rules = rules_of(check(broken(iso_start, fda=False), "ema"))
    assert ("G.k.4.r.4", "date-format") in rules


def test_what_hl7_permits_beyond_the_tables_is_accepted() -> None:
    """Issue 14: a <reference> in a narrative <text> (ED) and sequenceNumber on an
    outboundRelationship2 (an ActRelationship attribute) were refused as "not allowed"."""
    def reference_in_text(root: etree._Element) -> None:
        ref = etree.SubElement(one(root, f"{INV}/h:text"), "{urn:hl7-org:v3}reference")
        ref.set("value", "#narrative-1")

    def sequence_number(root: etree._Element) -> None:
        rel = root.find(".//h:outboundRelationship2", NS)
        seq = etree.Element("{urn:hl7-org:v3}sequenceNumber")
        seq.set("value", "1")
        rel.insert(0, seq)

    def translation_in_a_code(root: etree._Element) -> None:
        code = root.find(".//h:observation/h:code", NS)
        etree.SubElement(code, "{urn:hl7-org:v3}translation").set("code", "x")

    for change in (reference_in_text, sequence_number, translation_in_a_code):
        assert [str(f) for f in check(broken(change), "ich")] == [], change.__name__

    def stray_in_text(root: etree._Element) -> None:
        etree.SubElement(one(root, f"{INV}/h:text"), "{urn:hl7-org:v3}favouriteColour")

    assert ("-", "structure") in rules_of(check(broken(stray_in_text), "ich"))


def test_an_unknown_element_inbound_is_a_warning() -> None:
    def stray(root: etree._Element) -> None:
        etree.SubElement(one(root, f"{ROLE}/h:player1"), "{urn:hl7-org:v3}favouriteColour")

    strict = [f for f in check(broken(stray), "ich") if f.rule == "structure"]
    tolerant = [f for f in check(broken(stray), "ich", inbound=True) if f.rule == "structure"]
    assert [f.severity for f in strict] == ["error"]
    assert [f.severity for f in tolerant] == ["warning"]


def test_data_types_come_from_the_element_tables() -> None:
    """The HL7 data type of each element is read from the tables' "HL7 Data Type" columns
    (FDA table column AE, MFDS table column E), not from the example instances."""
    from safety.e2b.structure import datatypes, hl7_types

    assert hl7_types("Coded With Equivalents (CE)") == {"CE"}
    assert hl7_types("Interval of Point in Time (IVL<TS>)") == {"IVL_TS"}
    typed = datatypes()
    base = ("MCCI_IN200100UV01/PORR_IN049016UV/controlActProcess/subject/investigationEvent/"
            "component/adverseEventAssessment/subject1/primaryRole/player1")
    assert typed[f"{base}/administrativeGenderCode"] == "CE"  # D.5
    assert typed[f"{base}/birthTime"] == "TS"  # D.2.1
    assert typed[f"{base}/name"] == "EN"  # D.1 (patient name or initials)
    # G.k.4.r.4: IVL_TS in the FDA table, IVL_TS / PIVL_TS / SXPR_TS by condition in the MFDS
    # table: no single type, the value's xsi:type says which it is
    assert not any(p.endswith("outboundRelationship2/substanceAdministration/effectiveTime")
                   for p in typed)


def test_a_value_of_another_type_than_the_tables_give_is_a_finding() -> None:
    def birth_as_quantity(root: etree._Element) -> None:
        one(root, f"{ROLE}/h:player1/h:birthTime").set(
            "{http://www.w3.org/2001/XMLSchema-instance}type", "PQ")

    def gender_as_cv(root: etree._Element) -> None:  # CV specialises CE: fine
        one(root, f"{ROLE}/h:player1/h:administrativeGenderCode").set(
            "{http://www.w3.org/2001/XMLSchema-instance}type", "CV")

    found = [f for f in check(broken(birth_as_quantity), "ich") if f.rule == "datatype"]
    assert [(f.xpath.rsplit("/", 1)[-1], f.severity) for f in found] == [("birthTime", "error")]
    assert "the element tables give TS" in found[0].message
    assert [f for f in check(broken(gender_as_cv), "ich") if f.rule == "datatype"] == []
    inbound = check(broken(birth_as_quantity), "ich", inbound=True)
    assert [f.severity for f in inbound if f.rule == "datatype"] == ["warning"]

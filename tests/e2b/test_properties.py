"""Property tests for the value parsers and writers the E2B mapping is built on."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safety.cases.values import NullFlavor, PartialDate
from safety.e2b.hl7 import fmt_number, is_hl7_ts
from safety.e2b.reader import read_batch
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader, build_batch, serialise

HEADER = ExportHeader(sender_id="SD", destination="ema")
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def partial_dates(draw: st.DrawFn) -> PartialDate:
    year = draw(st.integers(1900, 2025))
    depth = draw(st.integers(0, 5))
    comps: list[int] = []
    limits = [(1, 12), (1, 28), (0, 23), (0, 59), (0, 59)]
    for lo, hi in limits[:depth]:
        comps.append(draw(st.integers(lo, hi)))
    offset = draw(st.sampled_from([None, 0, -300, 330, 60])) if depth >= 3 else None
    return PartialDate(year, *comps, tz_offset_minutes=offset)


xml_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r"),
    min_size=1, max_size=80,
).filter(lambda s: s.strip() == s and s != "")


def round_trip(case):
    return read_batch(serialise(build_batch([case], HEADER)))[0].case


@SETTINGS
@given(partial_dates())
def test_dates_keep_their_precision(d: PartialDate) -> None:
    assert is_hl7_ts(d.to_hl7())
    assert PartialDate.parse_hl7(d.to_hl7()) == d
    case = sample_case()
    case.reactions[0].start = d
    case.patient.medical_history[0].start = d
    case.drugs[0].dosages[0].end = d
    back = round_trip(case)
    assert back.reactions[0].start == d
    assert back.patient.medical_history[0].start == d
    assert back.drugs[0].dosages[0].end == d


@SETTINGS
@given(xml_text, xml_text, xml_text)
def test_text_values_survive(narrative: str, family: str, verbatim: str) -> None:
    case = sample_case()
    case.narrative.narrative = narrative
    case.reporters[0].family_name = family
    case.reactions[1].verbatim = verbatim
    back = round_trip(case)
    assert back.narrative.narrative == narrative
    assert back.reporters[0].family_name == family
    assert back.reactions[1].verbatim == verbatim


@SETTINGS
@given(st.sampled_from(list(NullFlavor)), st.sampled_from(list(NullFlavor)))
def test_null_flavours_survive(nf1: NullFlavor, nf2: NullFlavor) -> None:
    case = sample_case()
    case.patient.initials = nf1
    case.patient.birth_date = nf2
    case.reactions[0].outcome = nf1
    case.drugs[0].action_taken = nf2
    back = round_trip(case)
    assert back.patient.initials is nf1
    assert back.patient.birth_date is nf2
    assert back.reactions[0].outcome is nf1
    assert back.drugs[0].action_taken is nf2


@SETTINGS
@given(st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_numbers_are_exact(v: float) -> None:
    assert float(fmt_number(v)) == v
    case = sample_case()
    case.patient.weight_kg = v
    assert round_trip(case).patient.weight_kg == v


@SETTINGS
@given(st.text(alphabet="0123456789-+.T: ", max_size=20))
def test_hl7_ts_check_agrees_with_parser(s: str) -> None:
    if is_hl7_ts(s):
        digits = s.split("+")[0].split("-")[0].split(".")[0]
        assert len(digits) in (4, 6, 8, 10, 12, 14)


@SETTINGS
@given(partial_dates())
def test_precision_rule_follows_the_table(d: PartialDate) -> None:
    from datetime import UTC, datetime

    from safety.e2b.conformance import check
    from safety.e2b.export import export_case

    case = sample_case()
    case.admin.first_received = d  # C.1.4: at least CCYYMMDD, not in the future
    findings = export_case(case, HEADER).findings
    rules = {(f.element, f.rule) for f in findings}
    assert (("C.1.4", "date-precision") in rules) == (d.day is None)
    assert ("C.1.4", "future-date") not in rules
    xml = export_case(case, HEADER).xml
    past = check(xml, "ema", now=datetime(d.year - 1, 1, 1, tzinfo=UTC))
    assert ("C.1.4", "future-date") in {(f.element, f.rule) for f in past}


def test_two_cases_in_one_batch() -> None:
    from safety.e2b.export import export_cases

    a, b = sample_case(), sample_case()
    b.admin.sender_safety_report_id = b.admin.worldwide_case_id = "US-SAFETYDESK-000124"
    result = export_cases([a, b], ExportHeader(sender_id="SD", destination="ema",
                                               message_ids=["m-1", "m-2"]))
    assert result.ready
    back = read_batch(result.xml)
    assert [m.header.message_id for m in back] == ["m-1", "m-2"]
    assert back[1].case.admin.worldwide_case_id == "US-SAFETYDESK-000124"




@SETTINGS
@given(st.data())
def test_the_reader_never_refuses_an_icsr_for_a_bad_value(data: st.DataObject) -> None:
    """Issue 14: a tolerant reader. Any attribute value of an official example replaced by
    any text (a bad date, number, boolean, code, null flavour, reference) is read: the message
    is returned, the problem (if any) is a finding, never an exception."""
    from factories.e2b import example
    from lxml import etree

    root = etree.fromstring(example("FAERS2022Scenario1.xml"))
    targets = [(e, a) for e in root.iter() if isinstance(e.tag, str)
               for a in ("value", "code", "nullFlavor", "root", "extension", "unit")
               if e.get(a) is not None]
    count = data.draw(st.integers(1, 3))
    for _ in range(count):
        el, name = data.draw(st.sampled_from(targets))
        el.set(name, data.draw(st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)))
    [message] = read_batch(etree.tostring(root))
    assert message.case.drugs is not None
    for finding in message.findings:
        assert finding.xpath.startswith("/MCCI_IN200100UV01")

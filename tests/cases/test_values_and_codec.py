"""Partial dates keep their precision; null flavours stay distinct from absence."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safety.cases.codec import CodecError, case_from_json, case_to_json
from safety.cases.model import CaseVersionData, Drug, Reaction, Seriousness
from safety.cases.values import NullFlavor, PartialDate, PartialDateError


@st.composite
def partial_dates(draw: st.DrawFn) -> PartialDate:
    d = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
    n = draw(st.integers(1, 6))
    comps = [d.year, d.month, d.day, draw(st.integers(0, 23)), draw(st.integers(0, 59)),
             draw(st.integers(0, 59))][:n]
    tz = draw(st.none() | st.sampled_from([0, 60, -300, 330])) if n >= 4 else None
    return PartialDate(*comps, tz_offset_minutes=tz)  # type: ignore[arg-type]


@given(partial_dates())
def test_iso_and_hl7_round_trip_keep_precision(pd: PartialDate) -> None:
    assert PartialDate.parse_iso(pd.isoformat()) == pd
    assert PartialDate.parse_hl7(pd.to_hl7()) == pd
    assert pd.earliest() <= pd.latest()


@given(partial_dates())
def test_hl7_length_matches_precision(pd: PartialDate) -> None:
    digits = pd.to_hl7()[:14].split("+")[0].split("-")[0]
    assert len(digits) == {"year": 4, "month": 6, "day": 8, "hour": 10, "minute": 12,
                           "second": 14}[pd.precision]


@pytest.mark.parametrize("bad", ["2024-02-30", "2024-13", "24", "2024/01/02", "20240230",
                                 "2024-01-02T25:00"])
def test_invalid_dates_are_refused(bad: str) -> None:
    with pytest.raises(PartialDateError):
        PartialDate.parse_iso(bad) if "-" in bad or "/" in bad else PartialDate.parse_hl7(bad)


def test_month_precision_spans_the_month() -> None:
    pd = PartialDate(2024, 2)
    assert (pd.earliest(), pd.latest()) == (date(2024, 2, 1), date(2024, 2, 29))
    assert pd.to_date() is None


def test_codec_round_trip_keeps_null_flavours_and_absence() -> None:
    case = CaseVersionData()
    case.patient.initials = NullFlavor.MSK
    case.patient.birth_date = NullFlavor.ASKU
    case.reactions.append(Reaction(verbatim="rash", start=PartialDate(2024, 3),
                                   seriousness=Seriousness(death=False)))
    case.drugs.append(Drug(name=NullFlavor.UNK))
    data = case_to_json(case)
    assert data["patient"] == {"initials": {"nullFlavor": "MSK"},
                               "birth_date": {"nullFlavor": "ASKU"}}
    assert "sex" not in data["patient"]  # absent stays absent
    assert data["reactions"][0]["start"] == "2024-03"
    assert case_from_json(data) == case


def test_codec_names_the_bad_path() -> None:
    with pytest.raises(CodecError) as err:
        case_from_json({"reactions": [{"verbatim": "x", "start": "2024-99"}]})
    assert err.value.path == "$.reactions[0].start"
    with pytest.raises(CodecError) as err:
        case_from_json({"patient": {"initials": {"nullFlavor": "NOPE"}}})
    assert "null flavour" in err.value.message

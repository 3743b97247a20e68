"""The migration manifest (issue 21): its rows in order, each bad row named, and the receipt
instant a date becomes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safety.intake.manifest import (
    ManifestError,
    parse_manifest,
    receipt_instant,
    regulator_matches,
)


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    for name in ("b.xml", "a.json", "c.xml"):
        (tmp_path / name).write_text("x")
    return tmp_path


def test_csv_rows_in_the_manifest_order_with_sites_dates_and_submissions(files: Path) -> None:
    text = ("path,site,sender,received,historical,submitted\n"
            "b.xml,,ACME-PV,2019-02-03T10:00:00+01:00,,\n"
            "a.json,Hopital Lyon,,2019-01-05,yes,FDA=2019-01-12; EMA=2019-01-19\n"
            "c.xml,,,,no,\n")
    b, a, c = parse_manifest(text, base=files, fmt="csv")
    assert [e.path.name for e in (b, a, c)] == ["b.xml", "a.json", "c.xml"]
    assert (b.sender, b.received) == ("ACME-PV", datetime(2019, 2, 3, 9, tzinfo=UTC))
    assert (a.site, a.received, a.submitted) == (
        "Hopital Lyon", date(2019, 1, 5), {"FDA": date(2019, 1, 12), "EMA": date(2019, 1, 19)})
    assert a.historical and not c.historical and c.received is None and c.is_xml


def test_json_manifest_same_as_csv(files: Path) -> None:
    rows = [{"path": "a.json", "sender": "Site 7", "received": "2020-05-01",
             "historical": True, "submitted": {"fda-ind": "2020-05-09"}},
            {"path": "b.xml"}]
    a, b = parse_manifest(json.dumps({"files": rows}), base=files, fmt="json")
    assert a.site == "Site 7" and a.sender is None  # a form's sender is its site
    assert a.submitted == {"fda-ind": date(2020, 5, 9)} and b.submitted is None


@pytest.mark.parametrize(("row", "says"), [
    ("a.json,,,,,", "received: required for SAE forms"),
    ("b.xml,,,2020-01-01T10:00:00,,", "has no offset"),
    ("b.xml,,,2020-13-01,,", "not an ISO date"),
    ("b.xml,,,,yes,", "names the regulators"),
    ("b.xml,,,,no,FDA=2020-01-01", "only for a historical case"),
    ("b.xml,,,,yes,FDA:2020-01-01", "REGULATOR=YYYY-MM-DD"),
    ("b.xml,,,,maybe,", "yes or no"),
    ("missing.xml,,,,,", "no such file"),
    ("notes.txt,,,,,", "an E2B batch (.xml) or SAE forms (.json)"),
])
def test_each_bad_row_is_named_and_nothing_is_taken(files: Path, row: str, says: str) -> None:
    text = f"path,site,sender,received,historical,submitted\nc.xml,,,,,\n{row}\n"
    with pytest.raises(ManifestError) as err:
        parse_manifest(text, base=files, fmt="csv")
    assert list(err.value.errors) == ["row 2"] and says in str(err.value)


def test_a_file_named_twice_an_unknown_column_and_an_empty_manifest_are_refused(
        files: Path) -> None:
    with pytest.raises(ManifestError, match="already row 1"):
        parse_manifest("path\nb.xml\nb.xml\n", base=files, fmt="csv")
    with pytest.raises(ManifestError, match="unknown columns: region"):
        parse_manifest("path,region\nb.xml,EU\n", base=files, fmt="csv")
    with pytest.raises(ManifestError, match="no rows"):
        parse_manifest("[]", base=files, fmt="json")
    with pytest.raises(ManifestError, match="csv or json"):
        parse_manifest("x", base=files, fmt="xlsx")


ZONES = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Tokyo",
                         "Pacific/Kiritimati", "Pacific/Pago_Pago"])


@given(day=st.dates(date(1990, 1, 1), date(2030, 12, 31)), zone=ZONES,
       position=st.integers(0, 999_999))
def test_a_date_is_received_on_that_day_in_the_sponsors_zone(day: date, zone: str,
                                                             position: int) -> None:
    """Day 0 is the calendar day in the organisation's zone: a date given without a time must
    stay that day there, whatever its place in the import."""
    tz = ZoneInfo(zone)
    instant = receipt_instant(day, tz, position)
    assert instant.tzinfo is not None and instant.astimezone(tz).date() == day


@given(day=st.dates(date(1990, 1, 1), date(2030, 12, 31)), zone=ZONES,
       a=st.integers(0, 999_998))
def test_the_import_order_holds_within_a_day(day: date, zone: str, a: int) -> None:
    tz = ZoneInfo(zone)
    assert receipt_instant(day, tz, a) < receipt_instant(day, tz, a + 1)
    given_instant = datetime(2020, 1, 1, 12, tzinfo=UTC) + timedelta(days=a % 1000)
    assert receipt_instant(given_instant, tz, a) - given_instant < timedelta(seconds=1)


@pytest.mark.parametrize(("name", "regime", "destination", "matches"), [
    ("FDA", "fda-ind", "FDA", True),
    ("fda-ind", "fda-ind", "FDA", True),
    ("EMA", "eu-ctr", "EMA (EudraVigilance CT module)", True),
    ("ema", "eu-gvp", "EMA (EudraVigilance post-authorisation module)", True),
    ("MHRA", "eu-ctr", "EMA (EudraVigilance CT module)", False),
    ("EM", "eu-ctr", "EMA (EudraVigilance CT module)", False),
])
def test_a_regulator_is_named_by_regime_or_destination(name: str, regime: str,
                                                        destination: str,
                                                        matches: bool) -> None:
    assert regulator_matches(name, regime, destination) is matches

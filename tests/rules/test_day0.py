"""Day 0: instant + organisation zone → calendar date."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.cases.values import PartialDate
from safety.rules.day0 import (
    Anchor,
    AnchorKind,
    Day0Error,
    Receipt,
    ReceiverRole,
    first_of,
    org_zone,
)

NEW_YORK = timezone(timedelta(hours=-5))


def test_2330_new_york_is_next_day_when_org_zone_is_utc():
    instant = datetime(2026, 2, 27, 23, 30, tzinfo=NEW_YORK)
    a = Anchor.at(AnchorKind.FIRST_RECEIPT, instant, "UTC")
    assert a.day == date(2026, 2, 28)
    assert a.instant == datetime(2026, 2, 28, 4, 30, tzinfo=UTC)
    assert "UTC" in a.describe()


def test_2330_new_york_stays_same_day_in_new_york_zone():
    instant = datetime(2026, 2, 27, 23, 30, tzinfo=NEW_YORK)
    assert Anchor.at(AnchorKind.FIRST_RECEIPT, instant, "America/New_York").day == date(2026, 2, 27)


def test_london_summer_time_moves_late_utc_evening_to_next_day():
    instant = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    assert Anchor.at(AnchorKind.FIRST_RECEIPT, instant, "Europe/London").day == date(2026, 7, 2)
    winter = datetime(2026, 1, 1, 23, 30, tzinfo=UTC)
    assert Anchor.at(AnchorKind.FIRST_RECEIPT, winter, "Europe/London").day == date(2026, 1, 1)


def test_partial_date_with_offset_converted_and_bare_date_kept():
    p = PartialDate.parse_iso("2026-02-27T23:30-05:00")
    assert Anchor.from_partial(AnchorKind.FIRST_RECEIPT, p, "UTC").day == date(2026, 2, 28)
    bare = Anchor.from_partial(AnchorKind.FIRST_RECEIPT, PartialDate(2026, 2, 27), "Asia/Tokyo")
    assert bare.day == date(2026, 2, 27) and bare.instant is None


def test_month_only_date_cannot_be_day0():
    with pytest.raises(Day0Error, match=r"first_receipt.*no day"):
        Anchor.from_partial(AnchorKind.FIRST_RECEIPT, PartialDate(2026, 2), "UTC")


def test_naive_instant_rejected():
    with pytest.raises(Day0Error, match="naive"):
        Anchor.at(AnchorKind.FIRST_RECEIPT, datetime(2026, 1, 1), "UTC")


def test_org_zone_is_the_zone_given_never_the_environment(monkeypatch):
    monkeypatch.setenv("SAFETY_TIMEZONE", "Europe/Paris")
    assert org_zone("Asia/Tokyo").key == "Asia/Tokyo"
    assert org_zone().key == "UTC"
    with pytest.raises(Day0Error, match="Mars/Olympus"):
        org_zone("Mars/Olympus")


_ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Tokyo", "Pacific/Auckland"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.datetimes(min_value=datetime(2025, 1, 1),
                                       max_value=datetime(2028, 12, 31)),
                          st.sampled_from(_ZONES), st.sampled_from(list(ReceiverRole)),
                          st.booleans()), min_size=1, max_size=6),
       st.sampled_from(_ZONES), st.randoms())
def test_day_0_is_the_earliest_receipt_whatever_the_order(raw, org, rnd):
    """GVP VI.B.7 / ICH E2D day zero: the first receipt by anyone acting for the sponsor, as a
    calendar day of the organisation; no receipt is earlier, and the order given is irrelevant."""
    receipts = [Receipt(f"p{i}", role, instant=naive.replace(tzinfo=ZoneInfo(z)))
                if timed else Receipt(f"p{i}", role, day=naive.date())
                for i, (naive, z, role, timed) in enumerate(raw)]
    first = first_of(receipts, org)
    assert all(first.day <= r.anchor(org).day for r in receipts)
    shuffled = list(receipts)
    rnd.shuffle(shuffled)
    assert first_of(shuffled, org).day == first.day
    assert first.by in {r.who for r in receipts}

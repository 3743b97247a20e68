"""Reading only C.1 of a message gives what reading the whole message gives for C.1."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from safety.e2b.export import export_case
from safety.e2b.lifecycle import ReportKind, prepare
from safety.e2b.reader import read_admin, read_batch
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader


def test_read_admin_matches_the_full_reader_for_an_initial_and_a_nullification() -> None:
    first = prepare(None, sample_case(), ReportKind.INITIAL)
    null = prepare(first, first, ReportKind.NULLIFICATION, reason="duplicate of US-X-9")
    for case in (first, null):
        xml = export_case(case, ExportHeader(sender_id="SD", destination="ema")).xml
        assert read_admin(xml) == read_batch(xml)[0].case.admin
    assert read_admin(xml).nullification_code == "1"
    assert read_admin(xml).nullification_reason == "duplicate of US-X-9"


@settings(deadline=None, max_examples=40)
@given(reason=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn")),
                      min_size=1, max_size=200).filter(lambda r: r.strip() == r and r))
def test_any_amendment_reason_survives_the_message(reason: str) -> None:
    first = prepare(None, sample_case(), ReportKind.INITIAL)
    amended = prepare(first, first, ReportKind.AMENDMENT, reason=reason)
    xml = export_case(amended, ExportHeader(sender_id="SD", destination="ema")).xml
    admin = read_admin(xml)
    assert (admin.nullification_code, admin.nullification_reason) == ("2", reason)
    assert admin.most_recent_received == first.admin.most_recent_received

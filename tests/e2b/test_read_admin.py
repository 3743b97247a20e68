"""Reading only C.1 of a message gives what reading the whole message gives for C.1."""

from __future__ import annotations

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

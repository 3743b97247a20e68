"""The queue in SQL (issue 17): search by each reference a team has, sortable columns, pages,
the index following what it is derived from, the tabs of held, rejected and failed reports,
the dashboard's due-date buckets, and duplicate candidates below the model's threshold.

Expected answers come from the issue's text and the forms given here, written before the code.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from factories.cases import case_in_session
from factories.forms import sae_form
from factories.obligations import owe
from factories.sponsors import DEFAULT_ID
from sqlalchemy import select, update

from safety.accounts.clients import get_or_create_site
from safety.cases.store import Case
from safety.dedup.decisions import offers_confirmation
from safety.intake.processing import process_report
from safety.intake.service import Submitter, site_form_report
from safety.intake.status import ReportStatus
from safety.intake.store import _store_in_session
from safety.review.dashboard import cases_by_due
from safety.review.queue import QueueFilters, queue_rows, report_counts, report_rows
from safety.rules.obligations import ObligationStatus
from safety.rules.store import ObligationRow, set_obligation_status

TODAY = date.today()


def _numbers(session, *case_ids: str) -> list[str]:
    return [session.get(Case, uuid.UUID(c)).case_number for c in case_ids]


def _found(session, **filters) -> list[str]:
    return [r.case_number for r in queue_rows(session, QueueFilters(**filters),
                                              today=TODAY).rows]


def test_search_finds_a_case_by_each_of_its_references(db_session, base_settings):
    a = case_in_session(db_session, base_settings, stages=False, sae_id="ALPHA-1")
    second = sae_form(sae_id="BRAVO-2")
    second["subject"]["id"] = "202-007"
    second["events"][0]["verbatim"] = "Pneumonitis grade 3"
    b = case_in_session(db_session, base_settings, second, stages=False)
    na, nb = _numbers(db_session, a, b)

    assert _found(db_session, q=na.lower(), search_in="case_number") == [na]
    common = na[:-1] if na[:-1] == nb[:-1] else na[:4]  # both numbers start with it
    assert sorted(_found(db_session, q=common, search_in="case_number")) == sorted([na, nb])
    assert _found(db_session, q="bravo", search_in="sender_case_id") == [nb]
    assert _found(db_session, q="202-0", search_in="subject") == [nb]
    assert _found(db_session, q="101-004", search_in="subject") == [na]
    assert _found(db_session, q="PNEUMON", search_in="event") == [nb]
    assert _found(db_session, q="neutropen", search_in="event") == [na]  # inside the term
    assert _found(db_session, q="202-007") == [nb]  # everything: the subject id
    assert _found(db_session, q=nb) == [nb]  # everything: the case number
    # Wildcards are text: "%" and "_" match only themselves.
    assert _found(db_session, q="%") == [] and _found(db_session, q="_", search_in="event") == []
    assert _found(db_session, q="ALPHA", search_in="subject") == []  # only where asked


def test_sorted_columns_and_pages(db_session, base_settings):
    ids = [case_in_session(db_session, base_settings, stages=False, sae_id=f"P-{i}")
           for i in range(3)]
    n = sorted(_numbers(db_session, *ids))
    first = queue_rows(db_session, QueueFilters(sort="case", descending=True, per_page=2),
                       today=TODAY)
    assert [r.case_number for r in first.rows] == [n[2], n[1]]
    assert (first.total, first.pages, first.page) == (3, 2, 1)
    second = queue_rows(db_session, QueueFilters(sort="case", descending=True, per_page=2,
                                                 page=2), today=TODAY)
    assert [r.case_number for r in second.rows] == [n[0]]
    beyond = queue_rows(db_session, QueueFilters(sort="case", per_page=2, page=99), today=TODAY)
    assert beyond.page == 2 and [r.case_number for r in beyond.rows] == [n[2]]
    assert _found(db_session, sort="case") == n
    # Filtered: the total counts the filtered cases only.
    filtered = queue_rows(db_session, QueueFilters(q="P-1", search_in="sender_case_id"),
                          today=TODAY)
    assert filtered.total == 1 and sum(filtered.state_counts.values()) == 3


def test_the_index_follows_obligations_versions_and_states(db_session, base_settings):
    case_id = case_in_session(db_session, base_settings, stages=False, sae_id="F-1")
    owe(db_session, {case_id: TODAY + timedelta(days=4)})
    [row] = queue_rows(db_session, QueueFilters(), today=TODAY).rows
    assert row.due_in_days == 4
    # The obligation is met: no due date any more.
    ob = db_session.scalars(select(ObligationRow)).one()
    set_obligation_status(db_session, ob, ObligationStatus.SUBMITTED, actor="test",
                          reason="sent", on=TODAY)
    [row] = queue_rows(db_session, QueueFilters(), today=TODAY).rows
    assert row.due is None
    # A follow-up changes the suspect drug: the product filter follows the new version.
    follow = sae_form(sae_id="F-1", report_type="followup")
    follow["drugs"][0]["name"] = "nivolumab"
    assert case_in_session(db_session, base_settings, follow, stages=False) == case_id
    assert _found(db_session, product="Nivolumab") == _numbers(db_session, case_id)
    assert _found(db_session, product="pembrolizumab") == []
    assert queue_rows(db_session, QueueFilters(), today=TODAY).products == ["nivolumab"]
    # A change made with an UPDATE statement, not through the session's objects, too.
    db_session.execute(update(Case).where(Case.id == uuid.UUID(case_id))
                       .values(state="closed"))
    assert _found(db_session, states=("intake", "triage")) == []
    assert _found(db_session, states=("closed",)) == _numbers(db_session, case_id)


def _held_report(session, settings, sae_id: str) -> uuid.UUID:
    site, _ = get_or_create_site(session, "Site 101", "GB", DEFAULT_ID)
    submitter = Submitter(actor="test", sender=f"site:{site.id}", site_id=site.id,
                          sponsor_id=DEFAULT_ID)
    form = sae_form(sae_id=sae_id)
    form["drugs"][0]["role"] = "concomitant"  # no suspect product: not a valid case
    stored, _ = _store_in_session(session, site_form_report(submitter, form), None, "test")
    assert process_report(session, stored.id, settings,
                          has_stages=False).status == ReportStatus.HELD
    return stored.id


def test_held_reports_have_their_own_tab_with_the_reason(db_session, base_settings):
    case_in_session(db_session, base_settings, stages=False)
    held = _held_report(db_session, base_settings, "HELD-9")
    assert report_counts(db_session) == {"held": 1}
    listing = report_rows(db_session, "held")
    assert [r.report_id for r in listing.rows] == [held] and listing.total == 1
    assert "No suspect or interacting drug was named." in listing.rows[0].reasons
    assert report_rows(db_session, "held", q="held-").total == 1
    assert report_rows(db_session, "held", q="other").total == 0
    assert report_rows(db_session, "failed").rows == []
    with pytest.raises(ValueError, match="status must be one of"):
        report_rows(db_session, "processed")


def test_dashboard_due_buckets_count_what_their_queue_link_shows(db_session, base_settings):
    days = [-1, 0, 2, 3, 15, 16]
    ids = [case_in_session(db_session, base_settings, stages=False, sae_id=f"D{d}")
           for d in days]
    owe(db_session, {c: TODAY + timedelta(days=d) for c, d in zip(ids, days, strict=True)})
    buckets = cases_by_due(db_session, TODAY)
    assert buckets is not None
    assert [(b.label, b.count) for b in buckets] == [
        ("overdue", 1), ("0–2 d", 2), ("3–7 d", 1), ("8–15 d", 1), ("> 15 d", 1)]
    assert [b.query for b in buckets] == [
        {"overdue": "1"}, {"due_from": "0", "due_within": "2"},
        {"due_from": "3", "due_within": "7"}, {"due_from": "8", "due_within": "15"},
        {"due_from": "16"}]
    names = {"overdue": "overdue", "due_from": "due_from_days",
             "due_within": "due_within_days"}
    for b in buckets:
        filters = {names[k]: (v == "1") if k == "overdue" else int(v) for k, v in b.query.items()}
        assert queue_rows(db_session, QueueFilters(**filters), today=TODAY).total == b.count


def test_no_due_dates_no_due_chart(db_session, base_settings):
    case_in_session(db_session, base_settings, stages=False)
    assert cases_by_due(db_session, TODAY) is None


def test_confirm_is_offered_for_suspected_pairs_and_never_at_zero():
    assert offers_confirmation(0.97, True)
    assert offers_confirmation(0.0, True)  # a rule (same sender's id) made it suspected
    assert offers_confirmation(0.2, False)  # below the threshold: the physician may know better
    assert not offers_confirmation(0.0, False)
    assert not offers_confirmation(0.004, False)  # shown as 0.00


def test_candidates_below_the_threshold_are_folded_away(app):
    from flask import render_template

    def candidate(other: str, score: float, suspected: bool) -> dict:
        return {"other_id": uuid.uuid4(), "other": other, "score": score,
                "suspected": suspected, "rule": None, "explanation": [],
                "may_confirm": offers_confirmation(score, suspected)}

    with app.test_request_context("/"):
        html = render_template("web/sections/suspected.html",
                               case=SimpleNamespace(id=uuid.uuid4()),
                               section_data=[candidate("SD-1", 0.95, True),
                                             candidate("SD-2", 0.30, False),
                                             candidate("SD-3", 0.0, False)])
    shown, folded = html.split('<details class="below-threshold">')
    assert "SD-1" in shown and "SD-2" not in shown and "SD-3" not in shown
    assert "2 candidate(s) below the duplicate model's threshold" in folded
    sd3 = folded.split('data-other="SD-3"')[1]
    assert "Not a duplicate" in sd3 and "Confirm duplicate" not in sd3
    assert "Confirm duplicate" in folded.split('data-other="SD-2"')[1].split("SD-3")[0]

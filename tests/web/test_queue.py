"""Queue order, filters, counts and assignment."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from factories.cases import case_in_session, only_version
from factories.forms import sae_form
from factories.obligations import obligation_row, owe
from sqlalchemy import delete, update

from safety.cases.store import Case, CaseVersion
from safety.review.queue import QueueFilters, queue_rows
from safety.rules.store import ObligationRow


def _non_serious(**kw):
    form = sae_form(**kw)
    form["events"][0].update(serious=False, seriousness=[])
    return form


def _age(session, case_id: str, days: int) -> None:
    session.execute(update(CaseVersion).where(CaseVersion.case_id == uuid.UUID(case_id))
                    .values(received_at=datetime.now(UTC) - timedelta(days=days)))


def test_without_due_dates_serious_first_then_oldest(db_session, base_settings):
    young_serious = case_in_session(db_session, base_settings, sae_id="S-young")
    old_serious = case_in_session(db_session, base_settings, sae_id="S-old")
    old_minor = case_in_session(db_session, base_settings, _non_serious(sae_id="N-old"))
    _age(db_session, old_serious, 10)
    _age(db_session, old_minor, 20)
    _age(db_session, young_serious, 1)
    owe(db_session, {})
    page = queue_rows(db_session, QueueFilters(), today=date.today())
    assert [r.sender_case_id for r in page.rows] == ["S-old", "S-young", "N-old"]
    assert not page.has_due_dates and all(r.due is None for r in page.rows)
    assert page.rows[0].age_days == 10


def test_the_earliest_open_obligation_orders_the_queue(db_session, base_settings):
    _a, b, c = (case_in_session(db_session, base_settings, sae_id=x) for x in ("A", "B", "C"))
    today = date(2026, 11, 20)
    owe(db_session, {b: date(2026, 11, 18), c: date(2026, 11, 25)})
    page = queue_rows(db_session, QueueFilters(), today=today)
    assert [r.sender_case_id for r in page.rows] == ["B", "C", "A"]
    assert [r.due_in_days for r in page.rows] == [-2, 5, None]
    assert page.rows[0].overdue and page.has_due_dates
    overdue = queue_rows(db_session, QueueFilters(overdue=True), today=today)
    assert [r.sender_case_id for r in overdue.rows] == ["B"]
    soon = queue_rows(db_session, QueueFilters(due_within_days=5), today=today)
    assert [r.sender_case_id for r in soon.rows] == ["B", "C"]


def test_submitted_obligations_do_not_set_the_due_date(db_session, base_settings):
    case_id = case_in_session(db_session, base_settings)
    cv = only_version(db_session, case_id)
    db_session.execute(delete(ObligationRow))
    for due, status in ((date(2026, 12, 1), "open"), (date(2026, 11, 1), "submitted")):
        db_session.add(obligation_row(cv, due=due, status=status))
    db_session.flush()
    page = queue_rows(db_session, QueueFilters(), today=date(2026, 11, 26))
    assert page.rows[0].due == date(2026, 12, 1) and page.rows[0].due_in_days == 5


def test_filters_by_product_study_state_and_seriousness(db_session, base_settings):
    case_in_session(db_session, base_settings, sae_id="P1")
    other = sae_form(sae_id="P2", study={"protocol_number": "CAR-7"})
    other["drugs"][0]["name"] = "nivolumab"
    other_id = case_in_session(db_session, base_settings, other)
    db_session.execute(update(Case).where(Case.id == uuid.UUID(other_id))
                       .values(state="data_entry"))

    def ids(**kw):
        page = queue_rows(db_session, QueueFilters(**kw), today=date.today())
        return [r.sender_case_id for r in page.rows], page

    assert ids(product="NIVOLUMAB")[0] == ["P2"]
    assert ids(study="ONC-301")[0] == ["P1"]
    assert ids(states=("data_entry",))[0] == ["P2"]
    assert ids(serious=False)[0] == []
    found, page = ids()
    assert sorted(found) == ["P1", "P2"]
    assert page.products == ["nivolumab", "pembrolizumab"] and page.studies == ["CAR-7", "ONC-301"]


def test_queue_page_counts_assign_to_me_and_mine_filter(settings, users, browser, make_case):
    a = make_case(sae_id="A")
    make_case(sae_id="B")
    users.add("proc@example.org", "case_processor", name="Pat Processor")
    b = browser()
    b.login("proc@example.org")
    page = b.get("/queue").text
    assert 'data-state="triage">2<' in page and "Assign to me" in page
    assert "No open reporting obligations are stored yet" in page or "earliest open" in page
    r = b.post(f"/cases/{a}/assign", data={"next": "/queue?mine=1"})
    assert r.headers["Location"] == "/queue?mine=1"
    mine = b.get("/queue?mine=1").text
    assert "Pat Processor" in mine and ">A<" not in mine  # rows show case numbers
    assert mine.count('<tr data-case=') == 1
    assert b.get("/queue?unassigned=1").text.count('<tr data-case=') == 1
    assert b.get("/queue?state=closed").text.count('<tr data-case=') == 0
    htmx = b.get("/queue?serious=yes", headers={"HX-Request": "true",
                                                "HX-Target": "queue-table"})
    assert htmx.text.lstrip().startswith('<div id="queue-table">')

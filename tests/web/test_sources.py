"""Other areas' results plugged in through ReviewSources: message binding and guards."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

from sqlalchemy import select

from safety.cases.store import CaseVersion
from safety.db.session import session_scope
from safety.web import register_web
from safety.web.sources import ReviewSources
from safety.web.store import Signature
from web.conftest import case_state
from web.test_case_flow import _advance, _sign


def test_signature_binds_the_stored_e2b_message(app, settings, users, browser, make_case):
    messages: dict[str, bytes] = {}
    register_web(app, ReviewSources(message=lambda s, c, v: messages.get(str(v.id))))
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    _advance(b, case_id)
    r = _sign(b, case_id)
    assert "no E2B message is stored for version 1" in b.get(r.headers["Location"]).text
    with session_scope(settings.effective_database_url) as s:
        cv = s.execute(select(CaseVersion).where(
            CaseVersion.case_id == uuid.UUID(case_id))).scalar_one()
    messages[str(cv.id)] = b"<MCCI_IN200100UV01>v1</MCCI_IN200100UV01>"
    _sign(b, case_id)
    assert case_state(settings, case_id) == "submission"
    with session_scope(settings.effective_database_url) as s:
        sig = s.execute(select(Signature)).scalar_one()
    assert sig.message_sha256 == hashlib.sha256(messages[str(cv.id)]).hexdigest()
    assert "VALID" in b.get(f"/cases/{case_id}").text
    messages[str(cv.id)] = b"<MCCI_IN200100UV01>regenerated</MCCI_IN200100UV01>"
    page = b.get(f"/cases/{case_id}").text
    assert "INVALIDATED" in page and "the E2B message differs from the one signed" in page


def test_count_sources_block_transitions_with_their_reason(app, settings, users, browser,
                                                           make_case):
    register_web(app, ReviewSources(unconfirmed_coding=lambda s, c, v: 2,
                                    open_duplicates=lambda s, c, v: 0))
    case_id = make_case()
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    b.get("/queue")
    b.post(f"/cases/{case_id}/transition", data={"transition": "start_data_entry"})
    page = b.get(f"/cases/{case_id}").text
    assert "Blocked: 2 coded term(s) still await confirmation" in page
    r = b.post(f"/cases/{case_id}/transition", data={"transition": "send_to_medical_review"})
    assert "still await confirmation" in b.get(r.headers["Location"]).text
    assert case_state(settings, case_id) == "data_entry"


def test_open_obligations_block_closing(settings, users, browser, make_case):
    from safety.rules.store import ObligationRow

    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    _advance(b, case_id)
    _sign(b, case_id)
    with session_scope(settings.effective_database_url) as s:
        s.query(ObligationRow).filter_by(case_id=uuid.UUID(case_id)).delete()
        cv = s.execute(select(CaseVersion).where(
            CaseVersion.case_id == uuid.UUID(case_id))).scalar_one()
        s.add(ObligationRow(case_id=cv.case_id, case_version_id=cv.id, version=1,
                            destination="EMA", regime="eu-ct", rule_id="r", report_type="SUSAR",
                            day0=date(2026, 11, 2), due=date(2026, 11, 17), days=15,
                            status="open", citation="c", anchor="a", explanation="e", basis=[]))
    r = b.post(f"/cases/{case_id}/transition", data={"transition": "close"})
    assert "1 reporting obligation(s) are still open" in b.get(r.headers["Location"]).text
    assert case_state(settings, case_id) == "submission"
    with session_scope(settings.effective_database_url) as s:
        row = s.query(ObligationRow).filter_by(case_id=uuid.UUID(case_id)).one()
        row.status, row.submitted_on = "submitted", date(2026, 11, 10)
    b.post(f"/cases/{case_id}/transition", data={"transition": "close"})
    assert case_state(settings, case_id) == "closed"
    page = b.get(f"/cases/{case_id}").text
    assert "Reporting obligations" in page and "SUSAR" in page  # the rules section renders
    dash = b.get("/dashboard").text
    assert "100.0 %" in dash and "1 of 1 submitted" in dash


def test_flag_source_adds_queue_filters_and_badges(app, settings, users, browser, make_case):
    dup = make_case(sae_id="DUP")
    make_case(sae_id="PLAIN")
    register_web(app, ReviewSources(
        flags=lambda s, ids: {i: {"suspected_duplicate"} for i in ids if str(i) == dup}))
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    page = b.get("/queue").text
    assert 'name="flag"' in page and 'data-flag="suspected_duplicate"' in page
    only = b.get("/queue?flag=suspected_duplicate").text
    assert only.count("<tr data-case=") == 1 and "DUP" in only and "PLAIN" not in only


def test_without_a_flag_source_there_is_no_flag_filter(app, users, browser, make_case):
    make_case()
    register_web(app, ReviewSources())
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    assert 'name="flag"' not in b.get("/queue").text

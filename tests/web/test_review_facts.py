"""The guards and the signature read what the pipeline stored: messages, coding, duplicates,
obligations and the version's processing status. Nothing is plugged in: every fact here comes
from the stores a real case fills."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

from factories.cases import case_state, only_version
from factories.e2b import sample_message
from factories.forms import sae_form
from factories.obligations import obligation_row
from factories.submissions import add_draft
from factories.web import advance, sign
from sqlalchemy import select

from safety.cases.workflow import PipelineStatus, Stage
from safety.db.session import session_scope
from safety.review.store import Signature
from safety.rules.store import ObligationRow
from safety.submissions.states import SubmissionState
from safety.submissions.store import Submission


def _draft(settings, case_id: str, xml: bytes) -> None:
    with session_scope(settings.effective_database_url) as s:
        add_draft(s, only_version(s, case_id), xml)


def test_signature_binds_the_stored_e2b_message(settings, users, browser, make_case):
    case_id = make_case()
    first = sample_message("ema")
    _draft(settings, case_id, first)
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    advance(b, case_id)
    sign(b, case_id)
    assert case_state(settings, case_id) == "submission"
    with session_scope(settings.effective_database_url) as s:
        sig = s.execute(select(Signature)).scalar_one()
        assert sig.message_sha256 == hashlib.sha256(first).hexdigest()
        sub = s.execute(select(Submission)).scalar_one()
        assert sub.state == SubmissionState.READY  # approved: in the outbox
    assert "VALID" in b.get(f"/cases/{case_id}").text
    with session_scope(settings.effective_database_url) as s:
        s.execute(select(Submission)).scalar_one().xml = sample_message("fda-postmarket")
    page = b.get(f"/cases/{case_id}").text
    assert "INVALIDATED" in page and "the E2B message differs from the one signed" in page


def test_a_term_left_for_review_blocks_the_move_to_medical_review(settings, users, browser,
                                                                   make_case):
    form = sae_form()
    form["events"][0]["verbatim"] = "felt off"  # the autocoder will not decide this alone
    case_id = make_case(form=form)
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    b.get("/queue")
    b.post(f"/cases/{case_id}/transition", data={"transition": "start_data_entry"})
    page = b.get(f"/cases/{case_id}").text
    assert "Blocked: 1 coded term(s) still await confirmation" in page
    r = b.post(f"/cases/{case_id}/transition", data={"transition": "send_to_medical_review"})
    assert "still await confirmation" in b.get(r.headers["Location"]).text
    assert case_state(settings, case_id) == "data_entry"
    only = b.get("/queue?flag=coding_review").text
    assert only.count("<tr data-case=") == 1 and 'data-flag="coding_review"' in only


def test_a_failed_stage_blocks_signing_and_says_which(settings, users, browser, make_case):
    """Fail closed: a version whose rules stage failed cannot be approved, however far the
    case has come."""
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    advance(b, case_id)
    with session_scope(settings.effective_database_url) as s:
        cv = only_version(s, case_id)
        stages = dict(cv.stages)
        stages[Stage.RULES] = {"status": "failed", "error": "OperationalError: gone"}
        cv.stages, cv.pipeline = stages, PipelineStatus.FAILED
    r = sign(b, case_id)
    page = b.get(r.headers["Location"]).text
    assert "Not signed" in page and "processing of version 1 failed" in page
    assert "stage rules failed: OperationalError: gone" in page
    assert case_state(settings, case_id) == "approval"


def test_a_pending_stage_blocks_the_move_to_approval(settings, users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    for name in ("start_data_entry", "send_to_medical_review"):
        b.post(f"/cases/{case_id}/transition", data={"transition": name})
    with session_scope(settings.effective_database_url) as s:
        cv = only_version(s, case_id)
        stages = dict(cv.stages)
        del stages[Stage.SUBMISSIONS]
        cv.stages, cv.pipeline = stages, PipelineStatus.PENDING
    r = b.post(f"/cases/{case_id}/transition", data={"transition": "medical_review_done"})
    assert "version 1 is still being processed (stage submissions pending)" in \
        b.get(r.headers["Location"]).text
    assert case_state(settings, case_id) == "medical_review"


def test_open_obligations_block_closing(settings, users, browser, make_case):
    case_id = make_case()
    users.add("doc@example.org", "safety_physician")
    b = browser()
    b.login("doc@example.org")
    b.get("/queue")
    advance(b, case_id)
    sign(b, case_id)
    with session_scope(settings.effective_database_url) as s:
        s.query(ObligationRow).filter_by(case_id=uuid.UUID(case_id)).delete()
        s.add(obligation_row(only_version(s, case_id), due=date(2026, 11, 17),
                             destination="EMA", regime="eu-ct", report_type="SUSAR",
                             day0=date(2026, 11, 2)))
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

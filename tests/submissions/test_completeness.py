"""Issue #15 item 4: whether a filed report was complete is stated where the submission is made
(the approval for sending) and travels with it to the obligation it meets, where it decides the
EU CTR completed report (Reg. (EU) No 536/2014 Art. 42(2) second subparagraph: an initial
report filed incomplete is followed by a complete one, within 8 days of its filing)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from factories.cases import case_in_session, only_version
from factories.rules import anchors, event, facts
from factories.sponsors import DEFAULT_ID as D
from factories.sponsors import make_sponsor
from sqlalchemy import select

import safety.submissions.store as store
from safety.rules.obligations import evaluate
from safety.rules.store import ObligationRow, previous_obligations, save_evaluation
from safety.submissions.outbox import approve_for_sending, export_outbox
from safety.submissions.states import SubmissionState
from safety.submissions.store import new_submission


@pytest.mark.parametrize(("complete", "completion_owed"),
                         [(False, True), (True, False), (None, True)])
def test_completeness_stated_at_approval_decides_the_eu_completed_report(
        db_session, base_settings, tmp_path, complete, completion_owed):
    s = db_session
    case_id = uuid.UUID(case_in_session(s, base_settings, stages=False))
    cv = only_version(s, case_id)
    f = facts(events=(event(fatal=True, country="DE"),), anchors_=anchors("2026-03-02"))
    save_evaluation(s, case_id, cv.id, f, evaluate(f), D, actor="test")
    s.flush()
    initial = s.scalar(select(ObligationRow).where(ObligationRow.case_id == case_id,
                                                   ObligationRow.rule_id == "eu-ctr-susar-7"))
    assert initial is not None
    new_submission(s, actor="test", reason="drafted", state=SubmissionState.DRAFT,
                   sponsor_id=D, case_id=case_id, case_version_id=cv.id,
                   obligation_id=initial.id, destination="EMA (EudraVigilance CT module)",
                   due=initial.due, e2b_destination="ema", profile="ema", xml=b"<batch/>",
                   batch_id="B-C1", message_id="M-C1", findings=[], notes=[])
    assert approve_for_sending(s, cv.id, "user:physician", complete) == 1
    assert export_outbox(s, tmp_path / "outbox", actor="gateway")
    s.flush()
    s.refresh(initial)
    assert initial.status == "submitted" and initial.complete is complete
    completion = s.scalar(select(ObligationRow).where(
        ObligationRow.case_id == case_id, ObligationRow.rule_id == "eu-ctr-completion"))
    assert (completion is not None) is completion_owed
    if completion is not None:  # 8 days after the actual filing
        assert initial.submitted_on is not None
        assert (completion.due - initial.submitted_on).days == 8
    # The next version's evaluation reads the statement back.
    (fed,) = [o for o in previous_obligations(s, case_id) if o.rule_id == "eu-ctr-susar-7"]
    assert fed.complete is complete


def test_the_filing_day_is_the_sponsors_calendar_day(db_session, base_settings, tmp_path,
                                                      monkeypatch):
    """A message sent at 23:30 UTC on 2 March is filed on 3 March for a sponsor kept in
    Tokyo: its completion reports count from that day (C.05.014(2) "within eight days after
    having informed the Minister"), as its day 0 is that zone's calendar day."""
    s = db_session
    tokyo = make_sponsor(s, "TOKYO", timezone="Asia/Tokyo").id
    case_id = uuid.UUID(case_in_session(s, base_settings, stages=False, sponsor=tokyo))
    cv = only_version(s, case_id)
    f = facts(events=(event(fatal=True, country="CA"),), anchors_=anchors("2026-03-01"))
    save_evaluation(s, case_id, cv.id, f, evaluate(f), tokyo, actor="test")
    s.flush()
    initial = s.scalar(select(ObligationRow).where(ObligationRow.case_id == case_id,
                                                   ObligationRow.rule_id == "hc-ct-7"))
    assert initial is not None
    new_submission(s, actor="test", reason="drafted", state=SubmissionState.DRAFT,
                   sponsor_id=tokyo, case_id=case_id, case_version_id=cv.id,
                   obligation_id=initial.id, destination="Health Canada", due=initial.due,
                   e2b_destination="hc", profile="ich", xml=b"<batch/>", batch_id="B-T1",
                   message_id="M-T1", findings=[], notes=[])
    approve_for_sending(s, cv.id, "user:physician")
    monkeypatch.setattr(store, "utcnow", lambda: datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    export_outbox(s, tmp_path / "outbox", actor="gateway")
    s.flush()
    s.refresh(initial)
    assert initial.submitted_on == date(2026, 3, 3)
    complete = s.scalar(select(ObligationRow).where(ObligationRow.case_id == case_id,
                                                    ObligationRow.rule_id == "hc-ct-complete"))
    assert complete is not None and complete.due == date(2026, 3, 11)

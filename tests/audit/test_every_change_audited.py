"""Every state change writes its audit event, the system's and the failures included (issue
13, item 9): a case driven from intake through processing, review and submission leaves no
status that its audit trail does not explain, and the trail verifies."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from factories.audit import unaudited_statuses, verify
from factories.forms import sae_form
from factories.submissions import Desk, sent_initial
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.cases.store import CaseVersion
from safety.cases.workflow import Stage
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.pipeline.stages import STAGE_FUNCTIONS
from safety.rules.evaluation import refresh_due_alerts
from safety.rules.store import ObligationRow


def _events(url: str, **where: object) -> list[AuditEvent]:
    with session_scope(url) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(session.scalars(query))


def test_a_case_from_intake_to_submission_leaves_no_unaudited_status(
        client, sites, worker, settings, monkeypatch, tmp_path):
    desk = Desk(client, sites, worker, settings, monkeypatch, tmp_path / "outbox")
    case_id, _ = sent_initial(desk)  # received → processed, stages, obligations, sent
    desk.follow_up()  # version 2: the case reopened, redrafted messages
    url = settings.effective_database_url
    with session_scope(url) as session:
        assert refresh_due_alerts(session, date.today() + timedelta(days=30)) > 0
    assert unaudited_statuses(url) == []
    actions = {e.action for e in _events(url, case_id=uuid.UUID(case_id))}
    assert {"case.created", "version.created", "version.stage_done", "obligation.computed",
            "obligation.alert", "submission.drafted", "submission.sent"} <= actions
    result = verify()
    assert result.exit_code == 0, result.output


def test_a_report_that_fails_for_good_is_audited(client, sites, worker, settings,
                                                  monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database said no")

    monkeypatch.setattr("safety.pipeline.jobs.process", broken)
    r = client.post("/api/v1/reports", json=sae_form(),
                    headers=sites.headers(sites.token()))
    assert r.status_code == 202
    worker()
    url = settings.effective_database_url
    with session_scope(url) as session:
        report = session.scalars(select(Report)).one()
        assert report.status == "failed"
    failed = _events(url, entity_type="reports", action="report.failed")
    assert [e.entity_id for e in failed] == [str(report.id)]
    assert failed[0].actor.startswith("system")
    assert unaudited_statuses(url) == []


def test_every_stage_outcome_is_audited_failures_too(client, sites, worker, settings,
                                                    monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the terminology is not loaded")

    monkeypatch.setitem(STAGE_FUNCTIONS, Stage.DEDUP, broken)
    r = client.post("/api/v1/reports", json=sae_form(),
                    headers=sites.headers(sites.token()))
    assert r.status_code == 202
    worker()
    url = settings.effective_database_url
    with session_scope(url) as session:
        cv = session.scalars(select(CaseVersion)).one()
        assert cv.pipeline == "failed"
    events = _events(url, entity_type="case_versions", entity_id=str(cv.id))
    assert [e.action for e in events] == ["version.created", "version.stage_done",
                                          "version.stage_failed"]
    assert events[-1].changes == [
        {"field": "stages.dedup", "from": None, "to": "failed"},
        {"field": "pipeline", "from": "pending", "to": "failed"}]
    assert "the terminology is not loaded" in (events[-1].reason or "")
    assert unaudited_statuses(url) == []


def test_each_computed_obligation_is_audited(client, sites, worker, settings, monkeypatch,
                                             tmp_path):
    desk = Desk(client, sites, worker, settings, monkeypatch, tmp_path / "outbox")
    case_id = desk.report()
    url = settings.effective_database_url
    with session_scope(url) as session:
        obligations = list(session.scalars(select(ObligationRow).where(
            ObligationRow.case_id == uuid.UUID(case_id))))
    assert obligations
    computed = _events(url, action="obligation.computed")
    assert sorted(e.entity_id for e in computed) == sorted(str(o.id) for o in obligations)
    assert all(e.actor == "system:rules" and e.changes[0]["to"] == "open" for e in computed)


@pytest.mark.parametrize("state", ["draft", "invalid"])
def test_an_unsent_message_replaced_by_a_redraft_is_audited(client, sites, worker, settings,
                                                           monkeypatch, tmp_path, state):
    from safety.submissions.drafting import redraft
    from safety.submissions.store import Submission

    desk = Desk(client, sites, worker, settings, monkeypatch, tmp_path / "outbox")
    case_id = desk.report()
    url = settings.effective_database_url
    with session_scope(url) as session:
        sub = session.scalars(select(Submission).where(
            Submission.case_id == uuid.UUID(case_id), Submission.state == state)).first()
        assert sub is not None
        gone = str(sub.id)
        redraft(session, session.get_one(CaseVersion, sub.case_version_id), settings)
    discarded = _events(url, entity_type="submissions", entity_id=gone,
                        action="submission.discarded")
    assert len(discarded) == 1 and discarded[0].changes[0]["from"] == state

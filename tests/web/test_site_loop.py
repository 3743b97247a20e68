"""The site's loop (issue 17): the team asks, the site answers with a follow-up that starts
from what it sent last, drafts survive a timeout, and every error is marked at its field."""

from __future__ import annotations

import re
import time
from typing import Any

from factories.accounts import PASSWORD
from factories.database import count_rows
from factories.forms import sae_form
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from safety.audit.store import AuditEvent
from safety.cases.store import Case
from safety.db.session import session_scope
from safety.intake.store import PortalDraft, Report
from safety.questions.store import Question
from safety.web.portal import payload_to_form

PROBLEMS = re.compile(r"The form has (\d+) problem")


def _as_post(values: MultiDict[str, str], **changes: str) -> dict[str, list[str]]:
    """A page's fields as the browser would post them, with some changed."""
    out = {k: values.getlist(k) for k in values}
    out.update({k: [v] for k, v in changes.items()})
    return out


def _marked(html: str) -> set[str]:
    return set(re.findall(r'data-error-for="([^"]+)"', html))


def test_the_team_asks_and_the_site_answers_with_a_prefilled_follow_up(
        settings, users, browser, make_case, worker):
    case_id = make_case("Site A", form=sae_form(sae_id="A-7"))
    users.add("site@example.org", "site_submitter", site="Site A")
    users.add("doc@example.org", "safety_physician")
    doc = browser()
    doc.login("doc@example.org")
    doc.get(f"/cases/{case_id}")
    r = doc.post(f"/cases/{case_id}/questions",
                 data={"text": "What did the subject weigh at onset?",
                       "fields": "subject.weight_kg", "due": ""})
    assert r.status_code == 303
    page = doc.get(f"/cases/{case_id}").text
    assert "What did the subject weigh at onset?" in page and 'data-status="open"' in page

    site = browser()
    site.login("site@example.org")
    index = site.get("/portal").text
    assert "What did the subject weigh at onset?" in index
    with session_scope(settings.effective_database_url) as s:
        q = s.execute(select(Question)).scalar_one()
        first = s.execute(select(Report)).scalar_one()
        qid, sent = q.id, first.payload
    question = site.get(f"/portal/questions/{qid}").text
    link = re.search(r'id="answer-with-follow-up" href="([^"]+)"', question)
    assert link, question
    form_page = site.get(link.group(1).replace("&amp;", "&"))
    assert form_page.status_code == 200
    assert 'value="A-7"' in form_page.text and 'value="pembrolizumab"' in form_page.text
    assert 'value="related" selected' in form_page.text  # causality event 1 x drug 1
    values = payload_to_form(sent)
    data = _as_post(values, **{"subject.weight_kg": "64", "question": str(qid),
                               "draft_key": "followup:A-7", "answer_text": "64 kg"})
    r = site.post(link.group(1).replace("&amp;", "&"), data=data)
    assert r.status_code == 303, _marked(r.text)
    worker()
    with session_scope(settings.effective_database_url) as s:
        case = s.get(Case, case_id)
        q = s.get(Question, qid)
        follow = s.get(Report, q.answer_report_id)
        assert case.current_version == 2 and q.status == "answered"
        assert follow.payload["report_type"] == "followup"
        assert follow.payload["subject"]["weight_kg"] == 64.0
        assert {k: v for k, v in follow.payload.items() if k not in ("report_type", "subject")} \
            == {k: v for k, v in sent.items() if k not in ("report_type", "subject")}
        actions = [e.action for e in s.execute(select(AuditEvent).where(
            AuditEvent.entity_id == str(qid)).order_by(AuditEvent.id)).scalars()]
        assert actions == ["question.asked", "question.answered"]
    page = doc.get(f"/cases/{case_id}").text
    assert 'id="case-version">2<' in page and "version 2" in page
    assert 'data-status="answered"' in page and "64 kg" in page
    # the site's report page is readable: case number, review status, its version
    report_page = site.get(f"/portal/reports/{q.answer_report_id}").text
    assert 'id="case-number"' in report_page and "version 2 of the case" in report_page
    assert 'id="review-status"' in report_page and "{" not in report_page.split("<h2>What")[1]
    # the team accepts the answer; the audit trail has every step
    r = doc.post(f"/questions/{qid}/close", data={"reason": "weight received"})
    assert r.status_code == 303
    with session_scope(settings.effective_database_url) as s:
        assert s.get(Question, qid).status == "closed"


def test_a_follow_up_keeps_its_sae_id_and_must_change_something(
        settings, users, browser, make_case):
    make_case("Site A", form=sae_form(sae_id="A-8"))
    users.add("site@example.org", "site_submitter", site="Site A")
    site = browser()
    site.login("site@example.org")
    with session_scope(settings.effective_database_url) as s:
        first = s.execute(select(Report)).scalar_one()
        rid, sent = first.id, first.payload
    url = f"/portal/reports/{rid}/follow-up"
    site.get(url)
    same = _as_post(payload_to_form(sent), draft_key="followup:A-8")
    r = site.post(url, data=same)
    assert r.status_code == 422 and "Nothing changed" in r.text
    other = _as_post(payload_to_form(sent), sae_id="A-9", narrative="more")
    r = site.post(url, data=other)
    assert r.status_code == 422 and 'data-error-for="sae_id"' in r.text
    assert count_rows(settings.effective_database_url, Report) == 1


def test_every_problem_counted_is_marked_at_a_field(users, browser):
    users.add("site@example.org", "site_submitter", site="Site A")
    site = browser()
    site.login("site@example.org")
    site.get("/portal/new")
    bodies: list[dict[str, Any]] = [
        {},  # the "3 problems but marks 2" form: study was required and shown nowhere
        {"sae_id": "X", "awareness_date": "2026-02-30", "study.protocol_number": "P",
         "subject.age.value": "40"},  # an age without its unit
        {"sae_id": "X", "awareness_date": "2026-01-01", "study.protocol_number": "P",
         "drugs.1.name": "aspirin", "drugs.1.dose.unit": "mg",  # a dose without a value
         "events.1.verbatim": "rash", "events.1.causality.0": "related",  # drug 1 blank
         "events.1.serious": "true", "lab_tests.0.value": "high"},
    ]
    for body in bodies:
        r = site.post("/portal/new", data=body)
        assert r.status_code == 422
        counted = int(PROBLEMS.search(r.text).group(1))
        assert len(_marked(r.text)) == counted, (body, _marked(r.text), counted)
    assert {"study.protocol_number", "sae_id", "awareness_date"} <= _marked(
        site.post("/portal/new", data={}).text)
    last = site.post("/portal/new", data=bodies[2]).text
    # errors of a later row stay at that row (the blank row before it is not counted)
    assert {"drugs.1.dose.value", "events.1.causality.0", "events.1.seriousness",
            "lab_tests.0.value"} <= _marked(last)


def test_a_submit_after_the_session_timed_out_comes_back_after_login(
        settings, users, browser):
    users.add("site@example.org", "site_submitter", site="Site A")
    site = browser()
    site.login("site@example.org")
    site.get("/portal/new")
    with site.client.session_transaction() as sess:
        sess["last_seen"] = time.time() - settings.web_idle_minutes * 60 - 5
    typed = {"sae_id": "LATE-1", "awareness_date": "2026-11-30",
             "narrative": "Typed slowly over lunch.", "draft_key": "new"}
    r = site.post("/portal/new", data=typed)
    assert r.status_code == 302 and "/login?next=/portal/new" in r.headers["Location"]
    assert count_rows(settings.effective_database_url, Report) == 0
    login = r.headers["Location"]
    site.get(login)  # the session was cleared: a fresh CSRF token from the login page
    r = site.client.post(login, data={"email": "site@example.org", "password": PASSWORD,
                                      "csrf_token": site.token})
    assert r.status_code == 302 and r.headers["Location"].startswith("/portal/new")
    page = site.get(r.headers["Location"]).text
    assert 'value="LATE-1"' in page and "Typed slowly over lunch." in page
    assert "draft of this form was restored" in page
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(PortalDraft.form_key)).scalars().all() == ["new"]


def test_drafts_are_saved_as_the_user_types_and_dropped_when_sent(settings, users, browser):
    users.add("site@example.org", "site_submitter", site="Site A")
    site = browser()
    site.login("site@example.org")
    site.get("/portal/new")
    form = {"draft_key": "new", "sae_id": "D-1", "awareness_date": "2026-11-30",
            "study.protocol_number": "ONC-301", "subject.initials": "AB",
            "reporter.qualification": "physician", "drugs.0.name": "pembrolizumab",
            "drugs.0.ref": "IMP", "events.0.verbatim": "rash",
            "events.0.causality.0": "possible", "pregnancy.pregnant": "true",
            "pregnancy.last_menstrual_period": "2026-09-01",
            "pregnancy.gestation_weeks": "12", "lab_tests.0.name": "ALT",
            "lab_tests.0.value": "120", "lab_tests.0.unit": "U/L",
            "medical_history.0.condition": "asthma", "medical_history.0.continuing": "true"}
    r = site.post("/portal/draft", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Draft saved" in r.text
    again = site.get("/portal/new").text
    assert 'value="D-1"' in again and 'value="asthma"' in again
    r = site.post("/portal/new", data=form)
    assert r.status_code == 303, _marked(r.text)
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(PortalDraft)).first() is None
        payload = s.execute(select(Report.payload)).scalar_one()
    assert payload["pregnancy"] == {"pregnant": True, "last_menstrual_period": "2026-09-01",
                                    "gestation_weeks": 12.0}
    assert payload["lab_tests"] == [{"name": "ALT", "value": 120.0, "unit": "U/L"}]
    assert payload["medical_history"] == [{"condition": "asthma", "continuing": True}]
    assert payload["events"][0]["causality"] == [{"drug": "IMP", "assessment": "possible"}]
    assert "not a draft" not in site.get("/portal/new").text
    assert 'value="D-1"' not in site.get("/portal/new").text


def test_an_autosave_after_the_timeout_keeps_the_draft_and_sends_htmx_to_login(
        settings, users, browser):
    users.add("site@example.org", "site_submitter", site="Site A")
    site = browser()
    site.login("site@example.org")
    site.get("/portal/new")
    with site.client.session_transaction() as sess:
        sess["last_seen"] = time.time() - settings.web_idle_minutes * 60 - 5
    r = site.post("/portal/draft", data={"draft_key": "new", "sae_id": "AFTER"},
                  headers={"HX-Request": "true",
                           "HX-Current-URL": "http://localhost/portal/new"})
    assert r.status_code == 204
    assert r.headers["HX-Redirect"].endswith("/login?next=/portal/new")
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(PortalDraft.fields)).scalar_one() == [["draft_key", "new"],
                                                                      ["sae_id", "AFTER"]]


def test_held_reports_missing_criteria_become_questions_a_follow_up_answers(
        settings, users, browser, worker):
    users.add("site@example.org", "site_submitter", site="Site A")
    site = browser()
    site.login("site@example.org")
    site.get("/portal/new")
    form = {"sae_id": "H-1", "awareness_date": "2026-11-30", "study.protocol_number": "P-1",
            "drugs.0.name": "pembrolizumab", "events.0.verbatim": "rash",
            "subject.initials": "AB"}
    assert site.post("/portal/new", data=form).status_code == 303
    worker()
    with session_scope(settings.effective_database_url) as s:
        held = s.execute(select(Report)).scalar_one()
        q = s.execute(select(Question)).scalar_one()
        assert held.status == "held" and q.code == "missing_reporter"
        assert q.source == "minimum_criteria" and q.case_id is None and q.site_id is not None
        rid, qid = held.id, q.id
    assert "Missing identifiable reporter" in site.get("/portal").text
    url = f"/portal/reports/{rid}/follow-up?question={qid}"
    page = site.get(url)
    assert 'value="H-1"' in page.text and "Answering the safety team" in page.text
    r = site.post(url, data={**form, "reporter.qualification": "physician",
                             "question": str(qid), "draft_key": "followup:H-1"})
    assert r.status_code == 303, _marked(r.text)
    worker()
    with session_scope(settings.effective_database_url) as s:
        q = s.get(Question, qid)
        case = s.execute(select(Case)).scalar_one()
        assert q.status == "answered" and q.case_id == case.id
        assert q.answered_by.startswith("user:")  # the site's answer, not the system's


def test_a_site_answers_in_words_and_cannot_answer_twice(settings, users, browser, make_case):
    case_id = make_case("Site A", form=sae_form(sae_id="A-10"))
    users.add("site@example.org", "site_submitter", site="Site A")
    users.add("proc@example.org", "case_processor")
    proc = browser()
    proc.login("proc@example.org")
    proc.get(f"/cases/{case_id}")
    assert proc.post(f"/cases/{case_id}/questions",
                     data={"text": "Was a biopsy done?", "due": "2000-01-01"}).status_code == 303
    with session_scope(settings.effective_database_url) as s:
        assert s.execute(select(Question)).first() is None  # a due date in the past: refused
    proc.post(f"/cases/{case_id}/questions", data={"text": "Was a biopsy done?"})
    with session_scope(settings.effective_database_url) as s:
        qid = s.execute(select(Question.id)).scalar_one()
    site = browser()
    site.login("site@example.org")
    site.get(f"/portal/questions/{qid}")
    assert site.post(f"/portal/questions/{qid}", data={"answer_text": " "}).status_code == 422
    assert site.post(f"/portal/questions/{qid}",
                     data={"answer_text": "No biopsy."}).status_code == 303
    assert site.post(f"/portal/questions/{qid}",
                     data={"answer_text": "Again"}).status_code == 422
    # not enough: asked again, with why; the site sees it open
    r = proc.post(f"/questions/{qid}/reopen", data={"reason": "Please confirm with pathology"})
    assert r.status_code == 303
    assert 'id="question-status">open<' in site.get(f"/portal/questions/{qid}").text


def test_a_portal_follow_up_keeps_the_causality_method_set_through_the_api(
        settings, users, browser, make_case, worker):
    """A site's API client sent "WHO-UMC" as the method of a causality; the portal shows only
    the assessment, and its follow-up must not fall back to the form's default method."""
    form = sae_form(sae_id="A-11")
    form["events"][0]["causality"] = [{"drug": "IMP", "assessment": "possible",
                                       "method": "WHO-UMC"}]
    case_id = make_case("Site A", form=form)
    users.add("site@example.org", "site_submitter", site="Site A")
    site = browser()
    site.login("site@example.org")
    with session_scope(settings.effective_database_url) as s:
        first = s.execute(select(Report)).scalar_one()
        rid = first.id
    url = f"/portal/reports/{rid}/follow-up"
    page = site.get(url).text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert fields.get("events.0.causality.0.method") == "WHO-UMC", fields
    data = _as_post(payload_to_form(first.payload), narrative="Recovered on day 9.",
                    draft_key="followup:A-11")
    assert data["events.0.causality.0.method"] == ["WHO-UMC"]
    r = site.post(url, data=data)
    assert r.status_code == 303, _marked(r.text)
    worker()
    with session_scope(settings.effective_database_url) as s:
        follow = s.execute(select(Report).where(Report.id != rid)).scalar_one()
        assert follow.payload["events"][0]["causality"] == [
            {"drug": "IMP", "assessment": "possible", "method": "WHO-UMC"}]
        case = s.get(Case, case_id)
        assert case.current_version == 2

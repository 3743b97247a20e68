"""``safety user`` commands and the dashboard."""

from __future__ import annotations

import json

from click.testing import CliRunner

from safety.accounts.clients import get_or_create_site
from safety.cli.users import user
from safety.db.session import session_scope


def _run(settings, *args, input=None):
    env = {"SAFETY_HOME": str(settings.home),
           "SAFETY_DATABASE_URL": settings.effective_database_url}
    return CliRunner().invoke(user, list(args), input=input, env=env)


def test_user_add_list_lock_unlock(settings, browser):
    with session_scope(settings.effective_database_url) as s:
        get_or_create_site(s, "Site 101", "GB", 1)
    r = _run(settings, "add", "Doc@Example.org", "--role", "safety_physician", "--name",
             "Dr Ada Lovelace", "--password-stdin", input="a long password!\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["email"] == "doc@example.org"
    r = _run(settings, "add", "site@example.org", "--role", "site_submitter", "--site",
             "Site 101", "--password", input="a long password!\na long password!\n")
    assert r.exit_code == 2  # no such option: the password is never a command-line argument
    r = _run(settings, "add", "site@example.org", "--role", "site_submitter", "--site",
             "Site 101", input="a long password!\na long password!\n")
    assert r.exit_code == 0, r.output
    r = _run(settings, "add", "x@example.org", "--role", "site_submitter", "--site", "Nope",
             "--password-stdin", input="a long password!\n")
    assert r.exit_code == 2 and "no site named 'Nope'" in r.output
    r = _run(settings, "add", "doc@example.org", "--role", "admin", "--password-stdin",
             input="a long password!\n")
    assert r.exit_code == 2 and "already exists" in r.output
    listed = [json.loads(line) for line in _run(settings, "list").output.splitlines()]
    assert [(u["email"], u["role"], u["site"]) for u in listed] == [
        ("doc@example.org", "safety_physician", None),
        ("site@example.org", "site_submitter", "Site 101")]
    assert _run(settings, "lock", "doc@example.org", "--reason", "left").exit_code == 0
    assert browser().login("doc@example.org", "a long password!").status_code == 401
    assert _run(settings, "unlock", "doc@example.org").exit_code == 0
    assert browser().login("doc@example.org", "a long password!").status_code == 302
    assert _run(settings, "lock", "ghost@example.org").exit_code == 2


def test_dashboard_plots_received_per_week_and_queue_age(users, browser, make_case):
    make_case(sae_id="A")
    make_case(sae_id="B")
    users.add("proc@example.org", "case_processor")
    b = browser()
    b.login("proc@example.org")
    page = b.get("/dashboard").text
    assert page.count("<svg") >= 2
    assert "Cases received per week" in page and "Open cases by age" in page
    # both cases arrived this week and are 0 days old: the last weekly bar and the first
    # age bucket say 2
    assert "0-2 d: 2" in page


def test_user_demo_makes_one_account_per_role_and_site_once(settings, browser):
    with session_scope(settings.effective_database_url) as s:
        get_or_create_site(s, "Site 101", "GB", 1)
    r = _run(settings, "demo")
    assert r.exit_code == 0, r.output
    made = [json.loads(line) for line in r.output.splitlines()]
    assert sorted(m["role"] for m in made) == ["admin", "case_processor", "safety_physician",
                                               "site_submitter"]
    site_user = next(m for m in made if m["role"] == "site_submitter")
    assert site_user["email"] == "site101.default@demo.example"
    assert browser().login(site_user["email"], site_user["password"]).headers[
        "Location"] == "/portal"
    assert _run(settings, "demo").output == ""  # existing accounts are left alone


def _main(settings, *args, input=None):  # the root command, for its --sponsor option
    from safety.cli import main

    env = {"SAFETY_HOME": str(settings.home),
           "SAFETY_DATABASE_URL": settings.effective_database_url}
    return CliRunner().invoke(main, list(args), input=input, env=env)


def test_user_roles_are_given_and_withdrawn_per_sponsor(settings):
    from factories.sponsors import sponsor_id

    sponsor_id(settings.effective_database_url, "OTHER")
    r = _main(settings, "--sponsor", "DEFAULT", "user", "add", "doc@example.org",
              "--role", "safety_physician", "--password-stdin", input="a long password!\n")
    assert r.exit_code == 0, r.output
    r = _main(settings, "--sponsor", "OTHER", "user", "grant", "doc@example.org",
              "--role", "case_processor")
    assert json.loads(r.output)["sponsors"] == {"DEFAULT": "safety_physician",
                                                "OTHER": "case_processor"}
    r = _main(settings, "--sponsor", "DEFAULT", "user", "withdraw", "doc@example.org")
    assert json.loads(r.output)["sponsors"] == {"OTHER": "case_processor"}
    listed = json.loads(_run(settings, "list").output)
    assert listed["sponsors"] == {"OTHER": "case_processor"}
    r = _main(settings, "user", "grant", "doc@example.org", "--role", "admin")
    assert r.exit_code == 2 and "name the sponsor" in r.output
    r = _main(settings, "--sponsor", "NOPE", "user", "grant", "doc@example.org", "--role", "admin")
    assert r.exit_code == 2 and "NOPE" in r.output


def test_db_upgrade_asks_about_reports_held_before_questions_existed(
        settings, client, sites, worker):
    """Reports held for missing minimum criteria before migration 0008 have no questions: the
    upgrade raises them, once (a second upgrade, or a site's answer, raises none again)."""
    from datetime import UTC, datetime, timedelta

    from factories.forms import sae_form
    from sqlalchemy import select, text

    from safety.questions.status import QuestionStatus
    from safety.questions.store import Question, set_status
    from safety.sponsors.service import profile

    token = sites.token()
    held_form = sae_form(sae_id="OLD-1")
    del held_form["reporter"]
    r = client.post("/api/v1/reports", json=held_form, headers=sites.headers(token))
    assert r.status_code == 202, r.json
    worker()
    url = settings.effective_database_url
    with session_scope(url) as s:  # as before 0008: held, and nobody asked
        assert s.scalar(select(Question.code)) == "missing_reporter"
        s.execute(text("DELETE FROM questions"))
    r = _main(settings, "db", "upgrade")
    assert r.exit_code == 0, r.output
    assert "1 question(s) raised on reports held for minimum criteria" in r.output
    with session_scope(url) as s:
        q = s.execute(select(Question)).scalar_one()
        zone = profile(s, q.sponsor_id).zone
        assert (q.code, q.source, q.status, q.sender_case_id) == (
            "missing_reporter", "minimum_criteria", "open", "OLD-1")
        assert q.report_id is not None and q.site_id is not None
        assert q.due == datetime.now(UTC).astimezone(zone).date() + timedelta(
            days=settings.question_due_days)
        # the team withdrew it: not asked again either
        set_status(s, q, QuestionStatus.CLOSED, actor="user:1", reason="asked by phone")
    r = _main(settings, "db", "upgrade")
    assert r.exit_code == 0 and "question(s) raised" not in r.output, r.output
    with session_scope(url) as s:
        assert len(s.execute(select(Question)).scalars().all()) == 1

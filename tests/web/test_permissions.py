"""Every web route against every role; a site user never reaches another site's data."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from safety.cases.store import Case
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.questions.service import ask

ROLES = ("anonymous", "site_submitter", "case_processor", "safety_physician", "admin")


def _expected(role: str, url: str, method: str) -> int:
    site = role == "site_submitter"
    if url == "/metrics":  # a scraper's endpoint: 401 (no login redirect); administrators
        return {"anonymous": 401, "site_submitter": 404, "admin": 200}.get(role, 403)
    if role == "anonymous":
        return 302
    if url.startswith("/portal"):
        if not site:
            return 403
        if "{other_report}" in url or "{other_question}" in url:
            return 404
        if url == "/portal/draft":
            return 400  # the matrix's post names no draft (tests/web/test_site_loop.py)
        if url == "/portal/draft/discard":
            return 303
        return 200 if method == "GET" else 422
    if url.startswith("/admin"):
        if site:
            return 404
        if role != "admin":
            return 403
        # A POST here carries no valid form, so only the lock toggle succeeds.
        return {"GET": 200, "POST": 303 if url.endswith("/lock") else 422}[method]
    if url.startswith("/operations"):
        if site:
            return 404
        if role == "safety_physician":
            return 403
        if method == "GET":
            return 200
        # A report that has not failed: refused, and back to the page; a report's id given
        # as a version's names no version: not found.
        return 404 if "/versions/" in url else 303
    if url.endswith("/unblind"):  # only the unblinded role (none of these roles holds it)
        return 404 if site else 403
    if url.endswith(("/sign", "/assessments")):  # a physician's: signature, assessment
        return 404 if site else (303 if role == "safety_physician" else 403)
    if site:
        return 404
    return 200 if method == "GET" else 303


# (method, url pattern, endpoint): every web endpoint but login/logout/home and static files,
# which test_auth covers; test_every_web_endpoint_is_in_the_matrix keeps this list complete.
ROUTES = [
    ("GET", "/queue", "web_cases.queue"),
    ("GET", "/queue/reports/held", "web_cases.reports"),
    ("GET", "/queue/reports/rejected", "web_cases.reports"),
    ("GET", "/queue/reports/failed", "web_cases.reports"),
    ("GET", "/cases/{case}", "web_cases.case_page"),
    ("GET", "/cases/{case}/versions/1/source", "web_cases.source"),
    ("GET", "/dashboard", "web_dashboard.dashboard"),
    ("POST", "/cases/{case}/assign", "web_cases.assign_to_me"),
    ("POST", "/cases/{case}/transition", "web_cases.transition"),
    ("POST", "/cases/{case}/sign", "web_cases.sign_case"),
    ("POST", "/cases/{case}/unblind", "web_cases.unblind"),
    ("POST", "/cases/{case}/events/none/coding", "web_review.code_event"),
    ("POST", "/cases/{case}/duplicates/{case}", "web_review.decide"),
    ("POST", "/cases/{case}/messages/redraft", "web_review.redraft"),
    ("GET", "/cases/{case}/cioms1.pdf", "web_outputs.cioms1"),
    ("GET", "/queue/line-listing.csv", "web_outputs.line_listing"),
    ("GET", "/queue/line-listing.xlsx", "web_outputs.line_listing"),
    ("POST", "/cases/{case}/edit", "web_medical.edit"),
    ("POST", "/cases/{case}/assessments", "web_medical.assessments"),
    ("POST", "/cases/{case}/narrative", "web_medical.narrative"),
    ("GET", "/cases/{case}/narrative/draft", "web_medical.narrative_template"),
    ("GET", "/cases/{case}/terminology?q=fever", "web_medical.terminology"),
    ("GET", "/admin/users", "web_admin.users"),
    ("POST", "/admin/users", "web_admin.add_user"),
    ("POST", "/admin/users/{proc_user}/lock", "web_admin.lock"),
    ("POST", "/admin/users/{proc_user}/grants", "web_admin.change_grant"),
    ("GET", "/admin/sponsors", "web_sponsors.index"),
    ("POST", "/admin/sponsors", "web_sponsors.add"),
    ("GET", "/admin/sponsors/DEFAULT", "web_sponsors.detail"),
    ("POST", "/admin/sponsors/DEFAULT", "web_sponsors.update"),
    ("GET", "/operations", "web_operations.index"),
    ("POST", "/operations/reports/{own_report}/retry", "web_operations.retry_failed_report"),
    ("POST", "/operations/reports/{own_report}/discard", "web_operations.discard_failed_report"),
    ("POST", "/operations/versions/{own_report}/retry", "web_operations.retry_failed_stage"),
    ("GET", "/metrics", "web_metrics.metrics"),
    ("GET", "/portal", "web_portal.index"),
    ("GET", "/portal/new", "web_portal.new_report"),
    ("POST", "/portal/new", "web_portal.new_report"),
    ("GET", "/portal/reports/{own_report}", "web_portal.report"),
    ("GET", "/portal/reports/{other_report}", "web_portal.report"),
    ("GET", "/portal/reports/{own_report}/follow-up", "web_portal.follow_up"),
    ("POST", "/portal/reports/{own_report}/follow-up", "web_portal.follow_up"),
    ("GET", "/portal/reports/{other_report}/follow-up", "web_portal.follow_up"),
    ("POST", "/portal/reports/{other_report}/follow-up", "web_portal.follow_up"),
    ("GET", "/portal/questions/{own_question}", "web_portal.question"),
    ("POST", "/portal/questions/{own_question}", "web_portal.question"),
    ("GET", "/portal/questions/{other_question}", "web_portal.question"),
    ("POST", "/portal/questions/{other_question}", "web_portal.question"),
    ("POST", "/portal/draft", "web_portal.autosave"),
    ("POST", "/portal/draft/discard", "web_portal.discard"),
    ("GET", "/portal/study", "web_portal.study"),
    ("GET", "/questions", "web_questions.overview"),
    ("POST", "/cases/{case}/questions", "web_questions.ask_site"),
    ("POST", "/questions/{other_question}/close", "web_questions.close_question"),
    ("POST", "/questions/{other_question}/reopen", "web_questions.reopen_question"),
]
# web_review.message_xml and the readable message and its download need a stored message:
# tests/review/test_review_pages.py and tests/web/test_outputs.py cover them.
# The API docs page, its files and the favicon are public (test_web_security covers them).
OUTSIDE_MATRIX = {"web_login.index", "web_login.login", "web_login.logout", "web_login.static",
                  "web_review.message_xml", "web_outputs.message",
                  "web_outputs.message_download", "web_login.favicon", "web_api_docs.page",
                  "web_api_docs.asset"}


def test_every_web_endpoint_is_in_the_matrix(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("web_")}
    assert endpoints - OUTSIDE_MATRIX == {e for _, _, e in ROUTES}


@pytest.fixture()
def world(settings, users, make_case):
    own_case = make_case("Site A", sae_id="A-1")
    other_case = make_case("Site B", sae_id="B-1")
    users.add("site-a@example.org", "site_submitter", site="Site A")
    proc = users.add("proc@example.org", "case_processor")
    users.add("doc@example.org", "safety_physician")
    users.add("admin@example.org", "admin")
    with session_scope(settings.effective_database_url) as s:
        reports = {r.sender_case_id: str(r.id) for r in s.execute(select(Report)).scalars()}
        questions = {}
        for sae, case_id in (("A-1", own_case), ("B-1", other_case)):
            case = s.get(Case, uuid.UUID(case_id))
            questions[sae] = str(ask(s, case, actor="user:test", text=f"Weight of {sae}?",
                                     fields="subject.weight_kg", due=None,
                                     today=date(2026, 12, 1), default_days=7).id)
    return {"case": other_case, "own_case": own_case, "own_report": reports["A-1"],
            "other_report": reports["B-1"], "proc_user": proc,
            "own_question": questions["A-1"], "other_question": questions["B-1"]}


EMAILS = {"site_submitter": "site-a@example.org", "case_processor": "proc@example.org",
          "safety_physician": "doc@example.org", "admin": "admin@example.org"}


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_route_matrix(role, world, browser):
    b = browser()
    if role != "anonymous":
        assert b.login(EMAILS[role]).status_code == 302
    b.get("/login")
    for method, pattern, _ in ROUTES:
        url = pattern.format(**world)
        r = b.get(url) if method == "GET" else b.post(url, data={"locked": "0"})
        assert r.status_code == _expected(role, pattern, method), (role, method, url,
                                                                   r.status_code)
        if role == "anonymous" and r.status_code == 302:
            assert r.headers["Location"].startswith("/login")


def test_site_user_cannot_reach_any_case_even_its_own(world, browser):
    b = browser()
    b.login("site-a@example.org")
    for case in (world["own_case"], world["case"]):
        assert b.get(f"/cases/{case}").status_code == 404
        assert b.get(f"/cases/{case}/versions/1/source").status_code == 404
    page = b.get("/portal").text
    assert "A-1" in page and "B-1" not in page


def test_a_web_session_is_no_key_to_the_api(world, browser, client, sites):
    b = browser()
    b.login("site-a@example.org")
    assert b.get(f"/api/v1/cases/{world['case']}").status_code == 401
    assert b.get(f"/api/v1/reports/{world['other_report']}").status_code == 401
    assert b.get("/api/v1/cases").status_code == 401
    token_a = sites.token("Site A", "GB")
    assert client.get(f"/api/v1/cases/{world['case']}",
                      headers=sites.headers(token_a)).status_code == 404
    listed = client.get("/api/v1/cases", headers=sites.headers(token_a)).json["items"]
    assert [c["sender_case_id"] for c in listed] == ["A-1"]


def test_admin_pages_create_users_with_scope_rules(world, browser, settings):
    b = browser()
    b.login("admin@example.org")
    b.get("/admin/users")
    r = b.post("/admin/users", data={"email": "new@example.org", "role": "site_submitter",
                                     "printed_name": "New Person",
                                     "password": "long enough password"})
    assert r.status_code == 422 and "needs a site" in r.text
    r = b.post("/admin/users", data={"email": "new@example.org", "role": "case_processor",
                                     "printed_name": "New Person", "password": "short"})
    assert r.status_code == 422 and "at least 12" in r.text
    r = b.post("/admin/users", data={"email": "new@example.org", "role": "case_processor",
                                     "printed_name": "New Person",
                                     "password": "long enough password"})
    assert r.status_code == 303
    assert browser().login("new@example.org", "long enough password").status_code == 302

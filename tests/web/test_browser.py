"""Browser tests: Playwright driving the system's Chromium against a live server.

Chromium comes from Debian (``apt-get install -y chromium``), never ``playwright install``.
The tests skip cleanly when it or the playwright package is missing. Screenshots of each step
are kept under ``tests/artifacts/web/`` (git-ignored) for the CI to publish.
"""

from __future__ import annotations

import copy
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories.accounts import PASSWORD
from sqlalchemy import select
from werkzeug.serving import make_server

from safety.audit.store import AuditEvent
from safety.cases.store import Case
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.review.signing import APPROVAL_MEANING

DEMO_SPONSORS = ("ONCO", "NORDIA")
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--disable-extensions", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install "
                                                     "chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture()
def live_server(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture()
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(timezone_id="Europe/Berlin", locale="en-GB",
                                      viewport={"width": 1400, "height": 1000})
        # Whatever the Content-Security-Policy blocks (an inline script, an injected style,
        # another origin) would silently not work: every test fails on a violation.
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
        pg = context.new_page()
        violations: list[str] = []
        pg.on("console", lambda m: violations.append(m.text)
              if "Content Security Policy" in m.text or "CSP violation" in m.text else None)
        pg.set_default_timeout(15_000)
        counter = iter(range(1, 100))
        pg.shot = lambda name: pg.screenshot(  # type: ignore[attr-defined]
            path=str(shots / f"{next(counter):02d}-{name}.png"), full_page=True)
        try:
            yield pg
            assert violations == [], violations
        finally:
            context.close()
            browser.close()


@pytest.fixture()
def demo_data(settings: Any, worker: Any) -> int:
    """What ``safety serve --demo`` loads: the demo registry/RSI and the seeded SAE forms."""
    from safety.demo.service import load_demo
    from safety.pipeline.dispatch import QueueDispatch

    ids = load_demo(settings, QueueDispatch(settings), count=12)
    worker()
    return len(ids)


def _login(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _transition(page: Any, label: str, reason: str) -> None:
    form = page.locator("form.transition", has=page.get_by_role("button", name=label))
    form.locator("input[name=reason]").fill(reason)
    form.get_by_role("button", name=label).click()
    page.wait_for_load_state()


def test_physician_works_the_most_urgent_case_to_a_signed_approval(
        settings, users, demo_data, live_server, page, worker):
    users.add("doc@example.org", "safety_physician", name="Dr Ada Lovelace",
              sponsors=DEMO_SPONSORS)
    _login(page, live_server, "doc@example.org")
    page.wait_for_url(f"{live_server}/queue")
    rows = page.locator("#queue-table tbody tr[data-case]")
    assert rows.count() >= 1
    page.shot("queue")

    first = rows.first
    number = first.get_attribute("data-case")
    first.get_by_role("link").click()
    page.wait_for_url("**/cases/*")
    case_id = uuid.UUID(page.url.rsplit("/", 1)[1])
    assert page.locator("h1").inner_text().startswith(number)
    assert page.locator("#case-state").inner_text() == "Triage"
    page.shot("case-opened")

    page.get_by_role("button", name="Assign to me").click()
    assert page.locator("#assignee").inner_text() == "Dr Ada Lovelace"
    _transition(page, "Triage done: to data entry", "triaged: valid serious case")
    assert page.locator("#case-state").inner_text() == "Data entry / coding"

    # Coding: confirm the autocoder's code (or its first suggestion) for the first event.
    form = page.locator("#section-coding form.coding-form").first
    code = form.locator("input[name=code]")
    if not code.input_value():
        code.fill(form.locator("datalist option").first.get_attribute("value") or "")
    chosen = code.input_value()
    form.locator("input[name=reason]").fill("verbatim checked against the narrative")
    form.get_by_role("button", name="Confirm coding").click()
    page.wait_for_load_state()
    coding = page.locator("#section-coding").inner_text()
    assert chosen in coding and "confirmed by user:" in coding
    page.shot("coding-confirmed")

    # The site sends the same SAE again under another number: a suspected duplicate.
    from safety.demo.service import submit_forms
    from safety.pipeline.dispatch import QueueDispatch

    with session_scope(settings.effective_database_url) as s:
        again = copy.deepcopy(s.execute(select(Report).where(Report.case_id == case_id)
                                        .order_by(Report.received_at)).scalars().first().payload)
    again["sae_id"] = again["sae_id"] + "-RESENT"
    submit_forms(settings, [again], QueueDispatch(settings))
    worker()
    page.reload()
    candidate = page.locator("#section-suspected .candidate").first
    assert "suspected duplicate" in candidate.inner_text()
    candidate.locator("input[name=reason]").fill("same patient, same admission, re-sent")
    candidate.get_by_role("button", name="Confirm duplicate").click()
    page.wait_for_load_state()
    assert "Confirmed duplicate" in page.locator("body").inner_text()
    page.shot("duplicate-confirmed")
    _transition(page, "Data entry done: to medical review", "data entry checked")
    assert page.locator("#case-state").inner_text() == "Medical review"
    _transition(page, "Medical review done: to approval", "causality and seriousness agreed")
    assert page.locator("#case-state").inner_text() == "Approval"
    page.shot("ready-to-sign")

    sign = page.locator("#sign-form")
    assert sign.locator("input[name=tz]").input_value() == "Europe/Berlin"
    sign.locator("input[name=meaning]").check()
    sign.locator("input[name=password]").fill(PASSWORD)
    sign.get_by_role("button", name="Sign and approve for submission").click()
    page.wait_for_load_state()
    assert page.locator("#case-state").inner_text() == "Submission"
    signature = page.locator("#signatures tr.signature").first
    assert "VALID" in signature.inner_text()
    assert "Dr Ada Lovelace" in signature.inner_text()
    assert APPROVAL_MEANING in signature.inner_text()
    assert "Europe/Berlin" in signature.inner_text()
    submissions = page.locator("#submissions-table tr.submission[data-state=ready]")
    assert submissions.count() >= 1, page.locator("#section-submissions").inner_text()
    outbox = settings.home / "outbox"
    from safety.submissions.outbox import export_outbox

    with session_scope(settings.effective_database_url) as s:
        written = export_outbox(s, outbox, actor="gateway")
    assert written and all(p.read_bytes().startswith(b"<?xml") for p in written)
    audit = page.locator("#audit").inner_text()
    for text in ("coding.decided", "duplicate.confirmed",
                 "case.assigned", "case.start_data_entry", "triage → data_entry",
                 "case.medical_review_done", "causality and seriousness agreed",
                 "case.signed", "case.approve", "approval → submission"):
        assert text in audit, text
    page.shot("signed")

    with session_scope(settings.effective_database_url) as s:
        assert s.get(Case, case_id).state == "submission"
        actors = {e.actor for e in s.execute(select(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.action.like("case.%"),
            AuditEvent.action != "case.created")).scalars()}
        latest = s.execute(select(Report).where(Report.case_id == case_id)
                           .order_by(Report.received_at.desc())).scalars().first()
        follow_up = copy.deepcopy(latest.payload)
        signed = s.get(Case, case_id).current_version
    assert actors == {"user:1:doc@example.org"}

    # A follow-up arrives: version 2 supersedes what was signed, visibly.
    from safety.demo.service import submit_forms
    from safety.pipeline.dispatch import QueueDispatch

    follow_up["report_type"] = "followup"
    follow_up["narrative"] = "Follow-up: event resolved after treatment."
    submit_forms(settings, [follow_up], QueueDispatch(settings))
    worker()
    page.reload()
    assert page.locator("#case-version").inner_text() == str(signed + 1)
    signature = page.locator("#signatures tr.signature").first
    assert "INVALIDATED" in signature.inner_text()
    assert (f"signed version {signed}; the case is now version {signed + 1}"
            in signature.inner_text())
    diff = page.locator(f"#version-{signed + 1} table.diff").inner_text()
    assert "Narrative" in diff and "Follow-up: event resolved after treatment." in diff
    page.shot("follow-up-invalidates-signature")


def test_site_user_submits_a_form_fixes_an_error_and_sees_only_their_reports(
        settings, users, live_server, page, make_case):
    make_case("Site 202", sae_id="OTHER-SITE-1")
    users.add("site@example.org", "site_submitter", site="Site 101")
    _login(page, live_server, "site@example.org")
    page.wait_for_url(f"{live_server}/portal")
    assert "OTHER-SITE-1" not in page.content()
    page.get_by_role("link", name="Submit a new SAE form").click()
    page.fill("input[name=sae_id]", "BROWSER-1")
    page.fill("input[name=awareness_date]", "2026-11-31")
    page.fill("input[name='study.protocol_number']", "ONC-301")
    page.fill("input[name='subject.initials']", "AB")
    page.fill("input[name='reporter.family_name']", "Okafor")
    page.fill("input[name='events.0.verbatim']", "pneumonitis")
    page.check("input[name='events.0.serious']")
    page.select_option("select[name='events.0.seriousness']", ["hospitalisation"])
    page.fill("input[name='drugs.0.name']", "pembrolizumab")
    page.get_by_role("button", name="Submit report").click()
    error = page.locator("[data-error-for=awareness_date]")
    assert error.count() == 1
    page.shot("form-error")
    assert page.input_value("input[name='events.0.verbatim']") == "pneumonitis"
    page.fill("input[name=awareness_date]", "2026-11-02")
    page.get_by_role("button", name="Submit report").click()
    page.wait_for_url("**/portal/reports/*")
    assert page.locator("#report-status").inner_text() == "received"
    page.shot("submitted")
    page.goto(f"{live_server}/cases/{make_case('Site 202', sae_id='OTHER-SITE-2')}")
    assert "Not Found" in page.content()
    page.goto(f"{live_server}/portal")
    assert "BROWSER-1" in page.content() and "OTHER-SITE" not in page.content()


def test_queue_filters_refresh_the_table_in_place(settings, users, demo_data, live_server,
                                                  page):
    users.add("proc@example.org", "case_processor", sponsors=DEMO_SPONSORS)
    _login(page, live_server, "proc@example.org")
    page.wait_for_url(f"{live_server}/queue")
    rows = page.locator("#queue-table tbody tr[data-case]")
    total = rows.count()
    products = page.locator("select[name=product] option").all_inner_texts()[1:]
    assert products
    product = products[0]
    page.evaluate("window.__not_reloaded = true")
    page.select_option("select[name=product]", product)  # htmx: hx-trigger="change"
    page.wait_for_url("**/queue?*product=*")
    page.wait_for_function("document.querySelectorAll('#queue-table tbody tr[data-case]')"
                           f".length < {total} || {total} == 1")
    assert page.evaluate("window.__not_reloaded === true")  # swapped in place, no reload
    for text in rows.all_inner_texts():
        assert product in text
    page.shot("filtered")


def test_administrator_adds_a_sponsor_and_sets_its_mhra_gateway(settings, users, live_server,
                                                                 page):
    users.add("admin@example.org", "admin")
    _login(page, live_server, "admin@example.org")
    page.wait_for_url(f"{live_server}/admin/users")
    page.get_by_role("link", name="Sponsors").click()
    page.fill("input[name=code]", "ACME")
    page.fill("input[name=name]", "Acme Pharma")
    page.fill("input[name=org_code]", "ACME")
    page.fill("input[name=case_prefix]", "AC")
    page.fill("input[name=timezone]", "Europe/Paris")
    page.get_by_role("button", name="Add sponsor").click()
    page.wait_for_url(f"{live_server}/admin/sponsors/ACME")
    page.shot("sponsor-added")
    page.get_by_label("mhra sender id").fill("ACME-MHRA")
    page.get_by_label("mhra batch receiver").fill("MHRAB")
    page.get_by_label("mhra message receiver").fill("MHRAM")
    page.get_by_label("row 1 regulator").select_option("mhra")
    page.get_by_label("row 1 capacity").select_option("cta_holder")
    page.get_by_label("row 1 countries").fill("GB")
    page.fill("input[name=reason]", "UK trial starts")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url(f"{live_server}/admin/sponsors/ACME")
    assert "ACME: gateways, reporting changed." in page.locator(".flash").inner_text()
    assert "UK trial starts" in page.locator("#sponsor-history").inner_text()
    page.shot("sponsor-configured")
    page.goto(f"{live_server}/admin/sponsors")
    row = page.locator("tr[data-sponsor=ACME]").inner_text()
    assert "mhra" in row and "cta_holder: GB" in row


def test_case_processor_retries_a_failed_report_from_the_operations_page(
        settings, users, sites, client, worker, live_server, page, monkeypatch):
    from factories.forms import sae_form
    from factories.poison import MARK, Poison

    poison = Poison(monkeypatch)
    token = sites.token()
    bad = client.post("/api/v1/reports", json=sae_form(narrative=MARK),
                      headers=sites.headers(token)).json["report_id"]
    worker()
    users.add("proc@example.org", "case_processor")
    _login(page, live_server, "proc@example.org")
    page.wait_for_url(f"{live_server}/queue")
    page.get_by_role("link", name="Operations").click()
    row = page.locator(f"tr[data-report='{bad}']")
    assert "RuntimeError: poisoned payload" in row.inner_text()
    page.shot("failed-report")
    poison.cure()
    row.get_by_role("button", name="Retry").click()
    page.wait_for_url(f"{live_server}/operations")
    assert f"Report {bad} is queued again." in page.locator(".flash").inner_text()
    worker()
    page.reload()
    assert page.locator("#no-failed-reports").is_visible()
    page.shot("retried")


def _sideways(page: Any) -> int:
    """How far the page scrolls sideways (0: it fits the viewport)."""
    return int(page.evaluate("document.documentElement.scrollWidth"
                             " - document.documentElement.clientWidth"))


def test_queue_case_page_and_dashboard_fit_a_phone(settings, users, demo_data, live_server,
                                                   page):
    """At 390×844 (a common phone) no page of the team's loop scrolls sideways (issue 17)."""
    page.set_viewport_size({"width": 390, "height": 844})
    users.add("doc@example.org", "safety_physician", sponsors=DEMO_SPONSORS)
    _login(page, live_server, "doc@example.org")
    page.wait_for_url(f"{live_server}/queue")
    assert page.locator("#queue-table tbody tr[data-case]").count() >= 1
    assert _sideways(page) == 0
    page.shot("queue-390")
    page.locator("#queue-table tbody tr[data-case] a").first.click()
    page.wait_for_url("**/cases/*")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert _sideways(page) == 0
    page.shot("case-390")
    for path in ("/queue/reports/held", "/dashboard", "/queue?sort=case&dir=desc"):
        page.goto(f"{live_server}{path}")
        assert _sideways(page) == 0, path
    page.goto(f"{live_server}/dashboard")
    page.shot("dashboard-390")


def test_a_dashboard_bar_opens_the_queue_filtered_to_its_cases(settings, users, demo_data,
                                                               live_server, page):
    users.add("proc@example.org", "case_processor", sponsors=DEMO_SPONSORS)
    _login(page, live_server, "proc@example.org")
    page.wait_for_url(f"{live_server}/queue")
    page.goto(f"{live_server}/dashboard")
    bars = page.locator("a.bar-link")
    assert bars.count() == 5  # overdue, 0–2, 3–7, 8–15, > 15 days
    values = [int(bars.nth(i).locator(".chart-value").text_content() or "") for i in range(5)]
    busiest = values.index(max(values))
    count = str(values[busiest])
    assert int(count) > 0
    bars.nth(busiest).locator("rect").click()
    page.wait_for_url("**/queue?*")
    assert page.locator("#queue-total").inner_text() == count
    page.shot("queue-from-dashboard")


def test_the_api_docs_render_with_the_network_off(live_server, page):
    """Swagger UI comes from this server: with every other origin blocked the page renders
    the API (it was blank offline when it came from a CDN)."""
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_this_server)
    page.goto(f"{live_server}/api/v1/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for()
    assert "SafetyDesk API" in title.inner_text()
    assert page.locator(".swagger-ui .opblock").count() > 5
    assert elsewhere == []
    page.shot("api-docs-offline")

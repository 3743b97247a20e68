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
from safety.sponsors.service import configure
from safety.sponsors.store import Sponsor

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


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """One Chromium (and one Playwright driver) per module: starting and stopping them cost
    about two seconds a test. Each test still gets a browser context of its own (``page``):
    cookies, storage, cache and routes start empty, as in a new browser."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def page(request: pytest.FixtureRequest, chromium_browser: Any) -> Iterator[Any]:
    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True, exist_ok=True)
    context = chromium_browser.new_context(timezone_id="Europe/Berlin", locale="en-GB",
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
    # The demo leaves the MHRA gateway unset, and a message that cannot be sent blocks the
    # signature (test_browser_outputs.py): the sponsor's administrator sets it; the coding
    # decision below drafts the case's messages again.
    with session_scope(settings.effective_database_url) as s:
        sponsor = s.get_one(Sponsor, s.get_one(Case, case_id).sponsor_id)
        configure(s, sponsor, {"gateways": {**sponsor.gateways, "mhra": {
            "sender_id": f"{sponsor.code}-UK", "batch_receiver": "MHRA-TEST",
            "message_receiver": "MHRA-TEST"}}}, actor="test")
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
    page.select_option("select[name='events.0.serious']", "true")
    page.check("input[name='events.0.seriousness'][value=hospitalisation]")
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


def _logout(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def test_physician_asks_and_the_site_answers_with_a_prefilled_follow_up(
        settings, users, live_server, page, make_case, worker):
    """Issue 17's loop: a physician asks; the site answers with the form pre-filled from what
    it sent, changing one field; the case shows version 2 with that change and the answer."""
    from factories.forms import sae_form

    case_id = make_case("Site 101", form=sae_form(sae_id="LOOP-1"))
    users.add("site@example.org", "site_submitter", site="Site 101")
    users.add("doc@example.org", "safety_physician")
    _login(page, live_server, "doc@example.org")
    page.goto(f"{live_server}/cases/{case_id}")
    ask = page.locator("#ask-form")
    ask.locator("textarea[name=text]").fill("Has the subject recovered? Please update the outcome.")
    ask.locator("input[name=fields]").fill("events.0.outcome")
    ask.get_by_role("button", name="Ask the site").click()
    page.wait_for_url(f"**/cases/{case_id}#questions")
    assert page.locator("#questions tr.question[data-status=open]").count() == 1
    page.shot("asked")
    _logout(page)

    _login(page, live_server, "site@example.org")
    page.wait_for_url(f"{live_server}/portal")
    page.get_by_role("link", name="Has the subject recovered? Please update the outcome.").click()
    page.get_by_role("link", name="Answer with a follow-up report").click()
    page.wait_for_url("**/follow-up?question=*")
    assert page.input_value("input[name=sae_id]") == "LOOP-1"
    assert page.locator("input[name=sae_id]").get_attribute("readonly") is not None
    assert page.input_value("input[name='drugs.0.name']") == "pembrolizumab"
    assert page.input_value("select[name='events.0.outcome']") == "recovering"
    assert page.input_value("select[name='events.0.causality.0']") == "related"
    page.select_option("select[name='events.0.outcome']", "recovered")
    page.fill("textarea[name=answer_text]", "Recovered on 2026-11-20.")
    page.wait_for_selector("#draft-status:has-text('Draft saved')")  # htmx, under the CSP
    page.shot("follow-up-form")
    page.get_by_role("button", name="Send follow-up").click()
    page.wait_for_url("**/portal/reports/*")
    worker()
    page.reload()
    assert page.locator("#report-version").inner_text().startswith("version 2 of the case")
    assert page.locator("#case-number").inner_text()
    page.shot("follow-up-sent")
    _logout(page)

    _login(page, live_server, "doc@example.org")
    page.goto(f"{live_server}/cases/{case_id}")
    assert page.locator("#case-version").inner_text() == "2"
    answered = page.locator("#questions tr.question[data-status=answered]")
    assert answered.count() == 1
    assert "Recovered on 2026-11-20." in answered.inner_text()
    assert "version 2" in answered.inner_text()
    assert "Recovered" in page.content()  # the outcome's change in the version history
    page.shot("case-version-2")


def test_the_portal_form_fits_a_390_px_screen(settings, users, live_server, page, make_case):
    from factories.forms import sae_form

    make_case("Site 101", form=sae_form(sae_id="NARROW-1"))
    users.add("site@example.org", "site_submitter", site="Site 101")
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server, "site@example.org")
    page.wait_for_url(f"{live_server}/portal")
    for path in ("/portal/new", "/portal"):
        page.goto(f"{live_server}{path}")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (path, widths)
    page.goto(f"{live_server}/portal")
    page.get_by_role("link", name="NARROW-1").click()
    # the click starts a navigation: measure the page it leads to, not the one it leaves
    page.wait_for_url(f"{live_server}/portal/reports/**")
    page.wait_for_load_state()
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], ("report", widths)
    page.get_by_role("link", name="Submit follow-up").click()
    page.wait_for_url("**/follow-up**")
    page.wait_for_load_state()
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], ("follow-up", widths)
    page.shot("follow-up-390")
    # an empty submit: every counted problem is marked, at 390 px too
    page.goto(f"{live_server}/portal/new")
    page.get_by_role("button", name="Submit report").click()
    counted = int(page.locator("#problems").inner_text().split("has ")[1].split(" ")[0])
    marked = page.evaluate("new Set([...document.querySelectorAll('[data-error-for]')]"
                           ".map(e => e.dataset.errorFor)).size")
    assert counted == marked == 3
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], ("errors", widths)
    page.shot("errors-390")


def test_the_form_warns_before_the_session_times_out(settings, users, live_server, page):
    """The page's clock is Playwright's (fast-forwarded), the server's is real: the warning
    shows two minutes before the idle timeout and "Stay signed in" keeps the session."""
    users.add("site@example.org", "site_submitter", site="Site 101")
    page.clock.install()
    _login(page, live_server, "site@example.org")
    page.wait_for_url(f"{live_server}/portal")
    page.goto(f"{live_server}/portal/new")
    warning = page.locator("#session-warning")
    assert warning.is_hidden()
    page.clock.fast_forward((settings.web_idle_minutes - 2) * 60 * 1000 + 1000)
    warning.wait_for(state="visible")
    assert "ends in 2 minute(s)" in warning.inner_text()
    page.shot("session-warning")
    with page.expect_response("**/portal/draft") as saved:
        page.get_by_role("button", name="Stay signed in").click()
    assert saved.value.status == 200  # the session was still alive and is kept
    warning.wait_for(state="hidden")
def test_physician_corrects_assesses_a_susar_writes_the_narrative_and_signs(
        settings, users, client, sites, worker, live_server, page):
    """Issue 16: a correction of dose and onset date, the sponsor's causality turning a case
    the investigator judged unrelated into a SUSAR, the narrative, the signature; every field
    change audited with its reason; the regulator that received the case gets a follow-up
    when it is corrected again."""
    from factories.forms import sae_form
    from factories.products import add_rsi, load_demo_registry, use_demo_sender

    use_demo_sender(settings)
    safety = sites.token("Safety team", role="safety")
    load_demo_registry(client, sites.headers(safety))
    assert add_rsi(client, sites.headers(safety), "PEMBRO", "12",
                   ["10035742"]).status_code == 201  # febrile neutropenia not listed
    form = sae_form()
    form["study"]["ind_number"] = "145678"
    form["events"][0]["causality"] = [{"drug": "IMP", "assessment": "not_related"}]
    site = sites.token("Site 101", "GB")
    # The UK site's case owes the MHRA: its gateway must be set for the messages to be sendable
    # (an invalid message blocks the signature).
    with session_scope(settings.effective_database_url) as s:
        sponsor = s.scalars(select(Sponsor).where(Sponsor.code == "DEFAULT")).one()
        configure(s, sponsor, {"gateways": {**sponsor.gateways, "mhra": {
            "sender_id": "DEFAULT-UK", "batch_receiver": "MHRA-TEST",
            "message_receiver": "MHRA-TEST"}}}, actor="test")
    rep = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json
    worker()
    case_id = client.get(rep["status_url"], headers=sites.headers(site)).json["case_id"]
    users.add("doc@example.org", "safety_physician", name="Dr Ada Lovelace")
    _login(page, live_server, "doc@example.org")
    page.wait_for_url(f"{live_server}/queue")
    page.goto(f"{live_server}/cases/{case_id}")
    assert "IND safety report" not in page.locator("body").inner_text()  # not reportable
    page.shot("not-reportable")

    # 1. Correct the dose and the onset date (month precision), with a reason.
    edit = page.locator("#edit-form")
    edit.get_by_label("drugs[0].dosages[0].dose", exact=True).fill("100")
    edit.get_by_label("reactions[0].start", exact=True).fill("2026-10")
    edit.locator("input[name=reason]").fill("dose and onset checked against source documents")
    edit.get_by_role("button", name="Save correction").click()
    page.wait_for_load_state()
    assert "Correction saved as version 2" in page.locator(".flash").inner_text()
    worker()
    page.reload()
    assert page.locator("#case-version").inner_text() == "2"
    diff = page.locator("#version-2 table.diff").inner_text()
    assert "2026-10" in diff and "100" in diff
    page.shot("corrected")

    # 2. The sponsor's causality: WHO-UMC probable; expectedness against IB v12 (computed).
    row = page.locator("#assessment-table tr.assessment-row").first
    assert "unexpected" in row.locator("td.expectedness").inner_text()
    row.get_by_label("causality method 0").select_option("WHO-UMC")
    row.get_by_label("causality result 0").select_option("Probable/Likely")
    row.get_by_label("rsi version 0").select_option("IB|12")
    page.locator("#assessment-form input[name=reason]").fill(
        "plausible time to onset; class effect of PD-1 inhibitors")
    page.locator("#assessment-form").get_by_role("button", name="Save assessment").click()
    page.wait_for_load_state()
    assert "Assessment saved as version 3" in page.locator(".flash").inner_text()
    worker()
    page.reload()
    obligations = page.locator("#section-obligations").inner_text()
    assert "IND safety report" in obligations and "per sponsor" in obligations
    drafted = page.locator("#submissions-table tr.submission[data-kind=initial]")
    assert drafted.count() >= 1
    assert "Recorded: WHO-UMC: Probable/Likely" in page.locator("#assessment-table").inner_text()
    page.shot("susar")

    # 3. The narrative: drafted from the data by the trial SAE template, then edited.
    page.get_by_role("button", name="Draft from the case data").click()
    page.locator("#narrative-text", has_text="clinical study").wait_for()
    text = page.locator("#narrative-text").input_value()
    assert "ONC-301" in text and "100 mg" in text and "WHO-UMC Probable/Likely" in text
    page.locator("#narrative-text").fill(text + "\n\nCompany comment: a SUSAR.")
    page.get_by_label("sender's comment").fill("Consistent with the known class effect.")
    page.locator("#narrative-form input[name=reason]").fill("company narrative written")
    page.locator("#narrative-form").get_by_role("button", name="Save narrative").click()
    page.wait_for_load_state()
    assert "Narrative saved as version 4" in page.locator(".flash").inner_text()
    worker()
    page.reload()
    assert "Company comment: a SUSAR." in page.locator("#narrative").inner_text()

    # 4. Through medical review to approval, and sign.
    _transition(page, "Triage done: to data entry", "triaged")
    _transition(page, "Data entry done: to medical review", "data entry checked")
    _transition(page, "Medical review done: to approval", "SUSAR confirmed")
    sign = page.locator("#sign-form")
    assert page.locator("#signing-blockers").count() == 0, \
        page.locator("#signing-blockers").inner_text()
    sign.locator("input[name=meaning]").check()
    sign.locator("input[name=password]").fill(PASSWORD)
    sign.get_by_role("button", name="Sign and approve for submission").click()
    page.wait_for_load_state()
    assert page.locator("#case-state").inner_text() == "Submission"
    assert "VALID" in page.locator("#signatures tr.signature").first.inner_text()
    page.shot("signed")
    from safety.submissions.outbox import export_outbox
    from safety.submissions.store import Submission

    with session_scope(settings.effective_database_url) as s:
        assert export_outbox(s, settings.home / "outbox", actor="gateway")
        holders = set(s.scalars(select(Submission.destination).where(
            Submission.case_id == case_id, Submission.state == "sent")))
    assert "EMA (EudraVigilance CT module)" in holders  # the EMA now holds the case

    # 5. A further correction: the signature no longer holds, the EMA gets a follow-up.
    page.reload()
    edit = page.locator("#edit-form")
    edit.get_by_label("patient.weight_kg", exact=True).fill("61.5")
    edit.locator("input[name=reason]").fill("weight from the site's follow-up call")
    edit.get_by_role("button", name="Save correction").click()
    page.wait_for_load_state()
    flash = page.locator(".flash").inner_text()
    assert "no longer holds" in flash and "back in medical review" in flash
    worker()
    page.reload()
    assert page.locator("#case-state").inner_text() == "Medical review"
    assert "INVALIDATED" in page.locator("#signatures tr.signature").first.inner_text()
    follow = page.locator("#submissions-table tr.submission[data-kind=follow-up]")
    told = {row.split("\t")[0] for row in follow.all_inner_texts()}
    assert told == holders, page.locator("#section-submissions").inner_text()
    page.shot("follow-up")

    audit = page.locator("#audit").inner_text()
    for text in ("case.corrected", "drugs[0].dosages[0].dose",
                 "dose and onset checked against source documents", "reactions[0].start",
                 "case.assessed", "causality (pembrolizumab × febrile neutropenia)",
                 "plausible time to onset", "narrative.narrative", "company narrative written",
                 "patient.weight_kg", "weight from the site's follow-up call",
                 "signature.invalidated", "case.returned_by_correction"):
        assert text in audit, text
def _sideways(page: Any) -> int:
    """How far the page scrolls sideways (0: it fits the viewport)."""
    return int(page.evaluate("document.documentElement.scrollWidth"
                             " - document.documentElement.clientWidth"))


_WIDE = """() => { const w = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 1 && e.getClientRects().length)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > w + 1))
  .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '')
    + ' ' + Math.round(e.getBoundingClientRect().right)); }"""


def _too_wide(page: Any) -> list[str]:
    """The innermost elements that reach past the viewport's right edge (what to fix)."""
    return list(page.evaluate(_WIDE))


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
    assert _sideways(page) == 0, _too_wide(page)
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


def test_an_overdue_question_shows_in_the_queue_and_the_dashboard_links_to_its_cases(
        settings, users, live_server, page, make_case):
    """A case with an open question to the site shows it in its queue row (overdue marked);
    the dashboard counts such cases and its link opens the queue filtered to exactly them."""
    from datetime import timedelta

    from factories.forms import sae_form
    from sqlalchemy import update

    from safety.questions.store import Question

    asked = make_case("Site 101", form=sae_form(sae_id="ASKED-1"))
    make_case("Site 101", form=sae_form(sae_id="QUIET-1", subject={"id": "101-009"}))
    users.add("doc@example.org", "safety_physician")
    _login(page, live_server, "doc@example.org")
    page.wait_for_url(f"{live_server}/queue")
    page.goto(f"{live_server}/cases/{asked}")
    ask = page.locator("#ask-form")
    ask.locator("textarea[name=text]").fill("What was the ANC on day 3?")
    ask.get_by_role("button", name="Ask the site").click()
    page.wait_for_url(f"**/cases/{asked}#questions")
    with session_scope(settings.effective_database_url) as s:  # the site let it run late
        number = s.get(Case, uuid.UUID(asked)).case_number
        due = s.execute(select(Question.due)).scalar_one()
        s.execute(update(Question).values(due=due - timedelta(days=10)))

    page.goto(f"{live_server}/queue")
    row = page.locator(f"#queue-table tr[data-case='{number}']")
    flag = row.locator("a.question")
    assert flag.get_attribute("data-question") == "overdue"
    assert flag.inner_text() == "1 open question to the site, 1 overdue"
    assert page.locator("#queue-table a.question").count() == 1  # the other case has none
    page.shot("queue-question")

    page.goto(f"{live_server}/dashboard")
    overdue = page.locator("#questions-overdue")
    assert overdue.locator("strong").inner_text() == "1"
    page.shot("dashboard-questions")
    overdue.click()
    page.wait_for_url("**/queue?question=overdue")
    assert page.locator("#queue-total").inner_text() == "1"
    assert page.locator("#queue-table tbody tr[data-case]").get_attribute("data-case") == number
    assert page.input_value("select[name=question]") == "overdue"
    page.locator("#queue-table a.question").click()
    page.wait_for_url(f"**/cases/{asked}#questions")
    assert page.locator("#questions tr.question[data-status=open]").count() == 1

"""Browser check of issue 16 items 5 and 6: a case whose MHRA message is invalid (the sponsor
has no MHRA gateway) cannot be signed, the panel says why; the CIOMS I form downloads from the
case page and an E2B message reads element by element. Screenshots in
tests/artifacts/web/<test name>/."""

from __future__ import annotations

from typing import Any

import pytest
from factories.accounts import PASSWORD
from factories.cases import case_state
from factories.portal import portal_ind_case
from factories.web import advance

from web import test_browser as chromium

pytestmark = chromium.pytestmark
chromium_browser = chromium.chromium_browser
live_server = chromium.live_server
page = chromium.page


@pytest.mark.usefixtures("live_server")
def test_an_invalid_message_blocks_the_signature_and_the_forms_are_there(
        settings: Any, users: Any, browser: Any, worker: Any, sites: Any, client: Any,
        live_server: str, page: Any) -> None:
    case_id, _ = portal_ind_case(settings, users, browser, worker, sites, client)
    users.add("doc@example.org", "safety_physician", name="Dr Ada Lovelace")
    b = browser()
    b.login("doc@example.org")
    b.get(f"/cases/{case_id}")
    advance(b, case_id)
    assert case_state(settings, case_id) == "approval"

    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "doc@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/cases/{case_id}")
    blockers = page.locator("#signing-blockers")
    assert blockers.is_visible()
    assert "MHRA: N.2.r.3 sponsor DEFAULT has no E2B gateway identifiers for mhra" in \
        blockers.inner_text()
    sign = page.locator("#sign-form")
    assert sign.get_by_role("button", name="Sign and approve for submission").is_disabled()
    page.shot("signature-blocked")

    with page.expect_download() as got:
        page.get_by_role("link", name="CIOMS I (PDF) of version 1").click()
    download = got.value
    assert download.suggested_filename.startswith("CIOMS-I-") and \
        download.suggested_filename.endswith("-v1.pdf")
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    fda = page.locator("#submissions-table tr.submission", has_text="FDA")
    fda.get_by_role("link", name="Read").click()
    page.wait_for_url("**/submissions/*")
    row = page.locator('tr.e2b-element[data-element="FDA.C.5.5a"]')
    assert "145678" in row.inner_text()
    assert "Report from study" in page.locator(
        'tr.e2b-element[data-element="C.1.3"]').inner_text()
    page.shot("readable-message")
    with page.expect_download() as xml:
        page.locator("#download-xml").click()
    assert xml.value.suggested_filename.endswith(".xml")
    assert case_state(settings, case_id) == "approval"

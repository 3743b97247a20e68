"""Browser test (issue 19): a blinded physician sees "blinded study drug"; the unblinded
physician reveals with reason and e-signature; the obligations follow (placebo: none owed),
with audit rows for the request, the reveal and every read of the assignment."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from blinding.test_unblinding_workflow import _setup
from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.config import Settings
from safety.db.session import session_scope
from safety.rules.service import latest_obligations
from web.test_browser import _login, chromium_browser, live_server, page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser]


def test_blinded_physician_then_unblinded_physician_reveals_placebo(
        settings: Settings, live_server: str, page: Any) -> None:  # noqa: F811
    url = settings.effective_database_url
    with session_scope(url) as session:
        case, _, _ = _setup(session, settings, "placebo")
        case_id = case.id
    _login(page, live_server, "doc@cro.test")
    page.goto(f"{live_server}/cases/{case_id}")
    body = page.content()
    assert "blinded study drug" in body
    assert "Zelvorin" not in body and "K-7781" not in body
    assert page.locator("#unblind-form").count() == 0
    page.shot("blinded")  # type: ignore[attr-defined]
    page.context.clear_cookies()

    _login(page, live_server, "unblind@cro.test")
    page.goto(f"{live_server}/cases/{case_id}")
    form = page.locator("#unblind-form")
    form.locator("input[name=reason]").fill("SUSAR on blinded information: hepatic failure")
    form.locator("input[name=meaning]").check()
    form.locator("input[name=password]").fill("correct horse battery")
    form.get_by_role("button", name="Reveal the assignment").click()
    page.wait_for_load_state()
    assert "received placebo" in page.content()
    page.shot("revealed")  # type: ignore[attr-defined]

    with session_scope(url) as session:
        statuses = {str(o.status) for o in latest_obligations(session, uuid.UUID(str(case_id)))}
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert statuses == {"not_required"}
    assert actions.count("unblinding.requested") == 1
    assert actions.count("unblinding.revealed") == 1
    assert actions.count("randomisation.read") >= 3


def test_unblinded_physician_reveals_active_and_reads_the_regulators_message(
        settings: Settings, live_server: str, page: Any) -> None:  # noqa: F811
    """Active arm: the SUSAR is owed, and the message drafted for the regulator after the
    reveal names the product the subject received; the blinded physician cannot open it."""
    url = settings.effective_database_url
    with session_scope(url) as session:
        case, _, _ = _setup(session, settings, "ZEL")
        case_id = case.id
    _login(page, live_server, "unblind@cro.test")
    page.goto(f"{live_server}/cases/{case_id}")
    assert page.locator("a.read-message").count() == 0  # nothing drafted before the reveal
    form = page.locator("#unblind-form")
    form.locator("input[name=reason]").fill("SUSAR on blinded information: hepatic failure")
    form.locator("input[name=meaning]").check()
    form.locator("input[name=password]").fill("correct horse battery")
    form.get_by_role("button", name="Reveal the assignment").click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/cases/{case_id}")
    links = page.locator("a.read-message")
    assert links.count() >= 1
    href = links.first.get_attribute("href")
    links.first.click()
    page.wait_for_load_state()
    body = page.content()
    assert "Zelvorin" in body and "zelvoranib" in body and "blinded study drug" not in body
    page.shot("regulator-message")  # type: ignore[attr-defined]

    with session_scope(url) as session:
        statuses = {str(o.status) for o in latest_obligations(session, uuid.UUID(str(case_id)))}
    assert statuses == {"open"}

    page.context.clear_cookies()
    _login(page, live_server, "doc@cro.test")
    response = page.goto(f"{live_server}{href}")
    assert response is not None and response.status == 403
    assert "Zelvorin" not in page.content()

"""The case page of a blinded study: the blinded physician sees "blinded study drug" and no
arm value; the unblinded physician reveals with reason and signature, then sees the drug;
the obligations follow (active: the SUSAR is owed)."""

from __future__ import annotations

import uuid

from factories.accounts import PASSWORD
from factories.web import Browser
from flask import Flask
from sqlalchemy import select

from blinding.test_unblinding_workflow import _setup
from safety.audit.store import AuditEvent
from safety.config import Settings
from safety.db.session import session_scope
from safety.review.unblinding import REVEAL_MEANING
from safety.rules.service import latest_obligations


def test_blinded_page_then_reveal_by_the_unblinded_physician(settings: Settings,
                                                             app: Flask) -> None:
    url = settings.effective_database_url
    with session_scope(url) as session:
        case, _, _ = _setup(session, settings, "ZEL")
        case_id = case.id
    doc, unblinder = Browser(app.test_client()), Browser(app.test_client())
    assert doc.login("doc@cro.test").status_code == 302
    assert unblinder.login("unblind@cro.test").status_code == 302
    page = doc.get(f"/cases/{case_id}")
    assert page.status_code == 200, page.text[:500]
    assert "blinded study drug" in page.text
    for value in ("Zelvorin", "K-7781", "zelvoranib"):
        assert value not in page.text, value
    assert "unblind-form" not in page.text

    page = unblinder.get(f"/cases/{case_id}")
    assert "unblind-form" in page.text
    r = unblinder.post(f"/cases/{case_id}/unblind", data={
        "reason": "SUSAR: hepatic failure", "meaning": REVEAL_MEANING, "password": PASSWORD})
    assert r.status_code == 303
    assert "Zelvorin" in unblinder.get(f"/cases/{case_id}").text
    assert "Zelvorin" not in doc.get(f"/cases/{case_id}").text
    with session_scope(url) as session:
        assert {str(o.status) for o in latest_obligations(session, uuid.UUID(str(case_id)))} \
            == {"open"}
        actions = [e.action for e in session.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(["unblinding.requested", "unblinding.revealed",
                                   "randomisation.read"])))]
    assert actions.count("unblinding.requested") == 1
    assert actions.count("unblinding.revealed") == 1
    assert actions.count("randomisation.read") >= 4

"""The API's case answer is for the safety team's clients, a blinded audience: for a blinded
study it names no arm-revealing value, and reading the list to mask it is audited."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from blinding.test_unblinding_workflow import _setup
from safety.audit.store import AuditEvent
from safety.config import Settings
from safety.db.session import session_scope


def test_the_case_answer_keeps_the_blind(settings: Settings, client: FlaskClient,
                                         sites: object) -> None:
    url = settings.effective_database_url
    with session_scope(url) as session:
        case, _, _ = _setup(session, settings, "ZEL")
        case_id = str(case.id)
    token = sites.token("PV", role="safety")  # type: ignore[attr-defined]
    r = client.get(f"/api/v1/cases/{case_id}", headers=sites.headers(token))  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    body = r.get_data(as_text=True)
    for value in ("Zelvorin", "K-7781", "20 mg", "placebo", "zelvoranib"):
        assert value.casefold() not in body.casefold(), value
    assert "blinded study drug" in body and "Subject admitted with fever." in body
    with session_scope(url) as session:
        reads = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "randomisation.read")).all()
    assert any(e.actor == "system:blinding" for e in reads)

"""The regulator's message of a blinded SUSAR (issue 19, item 3): unblinded.

Expected answers from the regulations, written first: a SUSAR goes to the regulator with the
blind broken for that subject (EU CTR 536/2014 Annex III 2.5; ICH E2A III.C.2; FDA IND safety
reporting guidance 2012 V.A.3), so before the reveal no message is drafted (whether one is
owed depends on the arm), after a reveal to the active arm the E2B(R3) message names the
investigational product the subject received (G.k.2.2 medicinal product name, G.k.2.3.r.1
substance), and after a reveal to placebo no SUSAR is owed and nothing is drafted. A draft
made before the reveal is superseded (active) or withdrawn (placebo), audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories.accounts import PASSWORD
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from blinding.test_unblinding_workflow import _setup
from safety.accounts.store import User
from safety.audit.store import AuditEvent
from safety.blinding.mask import BLINDED_DRUG
from safety.cases.store import Case, current_version
from safety.config import Settings
from safety.review.unblinding import REVEAL_MEANING, case_data, reveal_for_case
from safety.rules.store import ObligationRow
from safety.submissions.drafting import ACTOR, build_message
from safety.submissions.routing import region_for
from safety.submissions.store import Submission, new_submission

NS = {"h": "urn:hl7-org:v3"}
# ICH E2B(R3) IG (and the FDA regional IG, which keeps the ICH paths for section G):
# G.k.2.2 and G.k.2.3.r.1 of each drug in the drug-information organizer (code 4).
DRUG = ("h:PORR_IN049016UV/h:controlActProcess/h:subject/h:investigationEvent/h:component"
        "/h:adverseEventAssessment/h:subject1/h:primaryRole/h:subjectOf2"
        "/h:organizer[h:code/@code='4']/h:component/h:substanceAdministration"
        "/h:consumable/h:instanceOfKind/h:kindOfProduct")
G_K_2_2 = f"{DRUG}/h:name/text()"
G_K_2_3_R_1 = f"{DRUG}/h:ingredient/h:ingredientSubstance/h:name/text()"
NOW = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def _messages(session: Session, case: Case) -> list[Submission]:
    session.flush()
    return list(session.scalars(select(Submission).where(Submission.case_id == case.id)
                                .order_by(Submission.destination)))


def _draft_before_reveal(session: Session, case: Case, settings: Settings) -> Submission:
    """A message drafted for the awaiting obligation before the reveal (as a release before
    this one drafted it): what the reveal must supersede."""
    cv = current_version(session, case)
    ob = session.scalars(select(ObligationRow).where(ObligationRow.case_version_id == cv.id)
                         .order_by(ObligationRow.destination)).first()
    assert ob is not None
    cols = build_message(session, cv, case, region_for(ob.destination), ob.days, settings,
                         obligation=ob)
    return new_submission(session, actor=ACTOR, sponsor_id=cv.sponsor_id, reason="test",
                          case_id=case.id, case_version_id=cv.id, obligation_id=ob.id,
                          destination=ob.destination, due=ob.due, **cols)


def _reveal(session: Session, case: Case, unblinder: User, settings: Settings) -> None:
    reveal_for_case(session, case, unblinder, settings, data=case_data(session, case),
                    reason="SUSAR on blinded information", password=PASSWORD,
                    meaning=REVEAL_MEANING, now=NOW)


def _discarded(session: Session, sub_id: object) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.action == "submission.discarded", AuditEvent.entity_id == str(sub_id))))


def test_no_message_awaits_the_reveal_and_the_active_arm_is_named_after_it(
        db_session: Session, base_settings: Settings) -> None:
    case, unblinder, _ = _setup(db_session, base_settings, "ZEL")
    assert {o.status for o in db_session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case.id))} == {"awaiting_unblinding"}
    assert _messages(db_session, case) == []  # the pipeline drafted nothing for the regulators
    early = _draft_before_reveal(db_session, case, base_settings)
    early_id = early.id

    _reveal(db_session, case, unblinder, base_settings)

    [gone] = _discarded(db_session, early_id)
    assert gone.actor == unblinder.actor and gone.reason.startswith("superseded")
    messages = _messages(db_session, case)
    assert early_id not in {m.id for m in messages}
    drafted = [m for m in messages if m.xml]
    # drafted for each regulator with a gateway (the test sponsor has no sender profile, so
    # a regulator's own header rules may still find fault; none about the drug section)
    assert {m.destination for m in drafted} >= {"FDA"}, [m.destination for m in messages]
    assert not [f for m in drafted for f in m.findings
                if f["severity"] == "error" and str(f["element"]).startswith("G.k")]
    for m in drafted:
        root = etree.fromstring(m.xml)
        assert root.xpath(G_K_2_2, namespaces=NS) == ["Zelvorin"], m.destination
        assert root.xpath(G_K_2_3_R_1, namespaces=NS) == ["zelvoranib"], m.destination
        assert BLINDED_DRUG.encode() not in m.xml and b"matching placebo" not in m.xml
    reads = db_session.scalars(select(AuditEvent.actor).where(
        AuditEvent.action == "randomisation.read", AuditEvent.case_id == case.id)).all()
    assert "system:submissions" in reads  # the message's read of the list, audited


@pytest.mark.parametrize("pre_drafted", [False, True])
def test_placebo_owes_no_susar_and_its_draft_is_withdrawn(
        db_session: Session, base_settings: Settings, pre_drafted: bool) -> None:
    case, unblinder, _ = _setup(db_session, base_settings, "placebo")
    early_id = _draft_before_reveal(db_session, case, base_settings).id if pre_drafted else None

    _reveal(db_session, case, unblinder, base_settings)

    assert {o.status for o in db_session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case.id))} == {"not_required"}
    assert _messages(db_session, case) == []
    if early_id is not None:
        [gone] = _discarded(db_session, early_id)
        assert gone.reason.startswith("withdrawn") and "placebo" in gone.reason


def test_a_blinded_user_cannot_read_the_regulators_unblinded_message(
        settings: Settings) -> None:
    """The message pages and files are the regulator's: the unblinded physician reads the
    product received; the blinded physician is refused (403), on every route that gives it."""
    from factories.web import Browser

    from safety.app import create_app
    from safety.db.session import session_scope

    with session_scope(settings.effective_database_url) as session:
        case, unblinder, _ = _setup(session, settings, "ZEL")
        _reveal(session, case, unblinder, settings)
        subs = [(m.id, m.notes) for m in _messages(session, case) if m.xml]
        case_id = case.id
    assert subs
    for _, notes in subs:  # the notes are shown to blinded people: they name no arm
        assert "Zelvorin" not in " ".join(notes) and "zelvoranib" not in " ".join(notes)
    app = create_app(settings=settings)
    routes = [f"/cases/{case_id}/submissions/{sub_id}{tail}" for sub_id, _ in subs
              for tail in ("", "/download", ".xml")]
    blinded = Browser(app.test_client())
    blinded.login("doc@cro.test")
    for route in routes:
        response = blinded.get(route)
        assert response.status_code == 403, route
        assert b"Zelvorin" not in response.data and b"only the unblinded role" in response.data
    page = blinded.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "Zelvorin" not in page.text
    unblinded = Browser(app.test_client())
    unblinded.login("unblind@cro.test")
    for route in routes:
        response = unblinded.get(route)
        assert response.status_code == 200 and b"Zelvorin" in response.data, route

"""Stores round-trip through the test database (PostgreSQL in CI, else SQLite), in a transaction
rolled back after each test."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy
from factories.cases import case_in_session
from factories.forms import sae_form
from factories.rules import anchors, event, facts
from factories.sponsors import DEFAULT_ID as D
from factories.sponsors import make_sponsor
from sqlalchemy.orm import Session

from safety.cases.store import versions
from safety.products.registry import (
    JurisdictionStatus,
    Product,
    Registry,
    Status,
    Study,
    product_from_dict,
    study_from_dict,
)
from safety.products.rsi import RsiVersion
from safety.products.store import load_registry, load_rsi, save_registry, save_rsi_version
from safety.rules.facts import FollowUp
from safety.rules.obligations import ObligationStatus, evaluate
from safety.rules.rsi_update import add_rsi_version
from safety.rules.store import (
    ObligationRow,
    obligation_submitted,
    previous_obligations,
    refresh_alerts,
    save_evaluation,
)


@pytest.fixture
def session(db_session: Session) -> Session:
    return db_session


def test_registry_and_rsi_round_trip(session):
    reg = Registry()
    reg.add_product(Product("P1", "Zelvorin", ("zelvoritinib",), (
        JurisdictionStatus("US", Status.INVESTIGATIONAL, ("IND 1",)),
        JurisdictionStatus("EU", Status.AUTHORISED, ("EU/1/26/1",)))))
    reg.add_study(Study("PROT-1", ("US",), ("IND 1",), ("P1",), True, "t"))
    save_registry(session, reg, D)
    v = RsiVersion("P1", "IB", "7", date(2026, 1, 1), frozenset({"100", "200"}), "IB ed. 7")
    save_rsi_version(session, v, D)
    session.commit()
    again = load_registry(session, D)
    assert again.products == reg.products and again.studies == reg.studies
    assert load_rsi(session, D).in_force("P1", "IB", date(2026, 2, 1)) == v


def test_a_registry_loaded_again_updates_its_statuses(session):
    """Loading a registry over itself (``safety demo`` after ``serve --demo``) keeps the
    statuses it still lists, with their new numbers, and drops the others; it once broke the
    unique constraint on (product, jurisdiction, status)."""
    def registry(*statuses):
        reg = Registry()
        reg.add_product(Product("P1", "Zelvorin", ("zelvoritinib",), statuses))
        return reg

    us = JurisdictionStatus("US", Status.INVESTIGATIONAL, ("IND 1",))
    eu = JurisdictionStatus("EU", Status.AUTHORISED, ("EU/1/26/1",))
    save_registry(session, registry(us, eu), D)
    session.flush()
    us_amended = JurisdictionStatus("US", Status.INVESTIGATIONAL, ("IND 1", "IND 2"))
    save_registry(session, registry(us_amended), D)
    session.flush()
    assert load_registry(session, D).products["P1"].statuses == (us_amended,)


def test_a_sponsors_registry_is_its_own(session):
    """Two sponsors may use the same product id; each reads only its own products and RSI."""
    other = make_sponsor(session, "OTHER").id
    mine, theirs = Registry(), Registry()
    mine.add_product(Product("P1", "Zelvorin", ("zelvoritinib",), ()))
    theirs.add_product(Product("P1", "Otherin", ("otherinib",), ()))
    save_registry(session, mine, D)
    save_registry(session, theirs, other)
    save_rsi_version(session, RsiVersion("P1", "IB", "1", date(2026, 1, 1),
                                         frozenset({"100"}), "IB 1"), other)
    session.flush()
    assert load_registry(session, D).products["P1"].name == "Zelvorin"
    assert load_registry(session, other).products["P1"].name == "Otherin"
    assert load_rsi(session, D).in_force("P1", "IB", date(2026, 2, 1)) is None


def test_obligations_saved_listed_submitted_and_fed_back(session, base_settings):
    # A case of two versions, stored without processing stages (no obligations yet).
    case_id = uuid.UUID(case_in_session(session, base_settings, stages=False))
    case_in_session(session, base_settings, sae_form(report_type="followup", narrative="more"),
                    stages=False)
    v1_id, v2_id = (cv.id for cv in versions(session, case_id))
    f1 = facts(anchors_=anchors("2026-02-27"))
    ev1 = evaluate(f1)
    save_evaluation(session, case_id, v1_id, f1, ev1, D, actor="test")
    session.commit()
    rows = list(session.scalars(sqlalchemy.select(ObligationRow).order_by(ObligationRow.due)))
    assert [r.due for r in rows] == sorted(r.due for r in rows)
    assert len(rows) == len(ev1.obligations)
    assert refresh_alerts(session, date(2026, 3, 13)) == len(rows)
    assert {r.alert for r in rows} == {"due_soon"}
    for r in rows:
        obligation_submitted(session, r.id, date(2026, 3, 10), actor="test", reason="sent")
    session.commit()
    prev = previous_obligations(session, case_id)
    assert {p.status for p in prev} == {ObligationStatus.SUBMITTED}
    f2 = facts(events=(event(fatal=True),), version=2, followup=FollowUp.SIGNIFICANT,
               anchors_=anchors("2026-02-27", significant_followup="2026-03-20",
                                fatal_lt_awareness="2026-03-20"))
    ev2 = evaluate(f2, previous=prev)
    save_evaluation(session, case_id, v2_id, f2, ev2, D, actor="test")
    session.commit()
    latest = previous_obligations(session, case_id)
    assert latest and {o.version for o in latest} == {2}
    assert any(o.rule_id == "eu-ctr-susar-7" and o.due == date(2026, 3, 27) for o in latest)


def test_filing_a_first_report_early_brings_its_complete_report_forward(session, base_settings):
    """Food and Drug Regulations C.05.014(2): the complete report is due "within eight days
    after having informed the Minister under paragraph (1)(b)". Stored at evaluation as the
    7-day report's due date + 8 (2026-03-14); the first report filed on 2026-03-02 makes it
    due 2026-03-10, with that filing as its day 0 (and an audit event)."""
    case_id = uuid.UUID(case_in_session(session, base_settings, stages=False))
    (v1_id,) = (cv.id for cv in versions(session, case_id))
    f1 = facts(events=(event(lt=True, criteria=("life_threatening",), country="CA"),),
               anchors_=anchors("2026-02-27"))
    save_evaluation(session, case_id, v1_id, f1, evaluate(f1), D, actor="test")
    session.flush()
    hc = {r.rule_id: r for r in session.scalars(sqlalchemy.select(ObligationRow).where(
        ObligationRow.regime == "hc-ct"))}
    assert hc["hc-ct-complete"].due == date(2026, 3, 14)
    obligation_submitted(session, hc["hc-ct-7"].id, date(2026, 3, 2), actor="test",
                         reason="sent")
    session.flush()
    assert (hc["hc-ct-complete"].day0, hc["hc-ct-complete"].due) == (date(2026, 3, 2),
                                                                    date(2026, 3, 10))
    assert "2026-03-02" in hc["hc-ct-complete"].explanation


def test_sending_an_eu_7_day_report_makes_its_completed_report_owed(session, base_settings):
    """Regulation (EU) No 536/2014 Art. 42(2) second subparagraph: an initial report that is
    incomplete is followed by a complete report (8 days, Annex III 2.4). Nothing is owed before
    the 7-day report is filed; once it is sent, not recorded as complete, the completed report
    is owed 8 days after the sending (2026-03-04 + 8), to be closed if the report was complete."""
    case_id = uuid.UUID(case_in_session(session, base_settings, stages=False))
    (v1_id,) = (cv.id for cv in versions(session, case_id))
    f1 = facts(events=(event(fatal=True, country="DE"),), anchors_=anchors("2026-02-27"))
    save_evaluation(session, case_id, v1_id, f1, evaluate(f1), D, actor="test")
    session.flush()

    def eu():
        return {r.rule_id: r for r in session.scalars(sqlalchemy.select(ObligationRow).where(
            ObligationRow.regime == "eu-ctr"))}

    assert set(eu()) == {"eu-ctr-susar-7"}
    obligation_submitted(session, eu()["eu-ctr-susar-7"].id, date(2026, 3, 4), actor="test",
                         reason="sent")
    session.flush()
    done = eu()["eu-ctr-completion"]
    assert (done.day0, done.due, done.status) == (date(2026, 3, 4), date(2026, 3, 12),
                                                  ObligationStatus.OPEN)
    assert "not recorded as complete" in done.explanation


def test_filing_a_uk_7_day_report_follows_the_sponsors_reading_of_reg_33_2(session, base_settings):
    """SI 2004/1031 reg. 33(2) read per sponsor (``rules.uk_ct_followup``, docs/rules.md): a
    sponsor reading it as owed only after an incomplete 7-day report gets, when the report is
    filed without saying whether it was complete, the 8-day report owed (the worse error is a
    missed one) with the instruction to close it if the report was complete -- as its own
    evaluation would say, not as the shipped default reading."""
    from safety.rules.capacity import with_options
    from safety.rules.regime import load_regimes
    from safety.sponsors.profile import RulesOptions, UkFollowUp
    from safety.sponsors.service import configure, find

    configure(session, find(session, "DEFAULT"), {"rules": {"uk_ct_followup": "if_incomplete"}},
              actor="test")
    case_id = uuid.UUID(case_in_session(session, base_settings, stages=False))
    (v1_id,) = (cv.id for cv in versions(session, case_id))
    f1 = facts(events=(event(fatal=True, country="GB"),), anchors_=anchors("2026-05-11"))
    regimes = with_options(load_regimes(), RulesOptions(UkFollowUp.IF_INCOMPLETE)).regimes
    save_evaluation(session, case_id, v1_id, f1, evaluate(f1, regimes), D, actor="test")
    session.flush()

    def uk():
        return {r.rule_id: r for r in session.scalars(sqlalchemy.select(ObligationRow).where(
            ObligationRow.regime == "uk-ct"))}

    assert set(uk()) == {"uk-ct-7-uk"}
    obligation_submitted(session, uk()["uk-ct-7-uk"].id, date(2026, 5, 14), actor="test",
                         reason="sent")
    session.flush()
    done = uk()["uk-ct-completion"]
    assert (done.day0, done.due) == (date(2026, 5, 14), date(2026, 5, 22))
    assert "not recorded as complete" in done.explanation


def test_rsi_change_reports_only_the_regimes_the_sponsor_is_held_to(session, base_settings):
    """Issue #15 item 5: an RSI change is judged under the sponsor's capacities (and settings),
    as its cases are: a sponsor reporting to the EMA only as trial sponsor hears of the EU CTR
    SUSAR report that disappears, not of FDA, MHRA or Health Canada reports it does not owe."""
    sponsor = make_sponsor(session, "EUONLY", reporting=[
        {"regulator": "ema", "capacity": "cta_holder"}]).id
    demo = json.loads((Path(__file__).parents[2] / "safety" / "demo" / "registry.json")
                      .read_text())
    reg = Registry()
    for i, p in enumerate(demo["products"]):
        reg.add_product(product_from_dict(p, f"products[{i}]"))
    for i, st in enumerate(demo["studies"]):
        reg.add_study(study_from_dict(st, f"studies[{i}]"))
    save_registry(session, reg, sponsor)
    form = sae_form()
    form["study"]["ind_number"] = "145678"
    case_in_session(session, base_settings, form, sponsor=sponsor)
    # IB 1 lists febrile neutropenia (PT 10016288): the SUSAR is no longer unexpected.
    changes = add_rsi_version(session, RsiVersion("PEMBRO", "IB", "1", date(2026, 1, 1),
                                                  frozenset({"10016288"}), "IB 1"),
                              base_settings, "test", sponsor)
    gone = {c["obligation"]["regime"] for c in changes if c["change"] == "disappears"}
    assert gone == {"eu-ctr"}

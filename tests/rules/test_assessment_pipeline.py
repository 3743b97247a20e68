"""Issue #15 items 2 and 5 in the stored pipeline: a dated sponsor assessment recorded on a case
is part of its history, and the case's current version is evaluated again at once: the clocks
counting from the sponsor's awareness (Reg. 536/2014 Art. 42(2)(b)) or determination (21 CFR
312.32(c)(1)) start on the assessment's day; a later "not related" closes what is no longer
owed."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

from factories.cases import case_in_session, only_version
from factories.forms import sae_form
from factories.sponsors import DEFAULT_ID
from sqlalchemy import select

from safety.cases.store import working_data
from safety.products.registry import Registry, product_from_dict, study_from_dict
from safety.products.store import save_registry
from safety.rules.causality import Relatedness
from safety.rules.evaluation import assessment_recorded, evaluate_stage
from safety.rules.history import SponsorAssessment
from safety.rules.store import ObligationRow

DEMO = Path(__file__).parents[2] / "safety" / "demo" / "registry.json"


def _open(session, case_id):  # type: ignore[no-untyped-def]
    return {(r.regime, r.rule_id): (r.day0, r.due) for r in session.scalars(
        select(ObligationRow).where(ObligationRow.case_id == case_id,
                                    ObligationRow.status == "open"))}


def test_a_recorded_assessment_starts_and_stops_clocks_in_the_pipeline(db_session,
                                                                       base_settings):
    s = db_session
    reg = Registry()
    demo = json.loads(DEMO.read_text())
    for i, p in enumerate(demo["products"]):
        reg.add_product(product_from_dict(p, f"products[{i}]"))
    for i, st in enumerate(demo["studies"]):
        reg.add_study(study_from_dict(st, f"studies[{i}]"))
    save_registry(s, reg, DEFAULT_ID)
    form = sae_form()
    form["study"]["ind_number"] = "145678"
    form["events"][0]["causality"] = [{"drug": "IMP", "assessment": "not_related"}]
    case_id = uuid.UUID(case_in_session(s, base_settings, form, stages=False))
    cv = only_version(s, case_id)
    evaluate_stage(s, cv, base_settings)
    assert not {k for k in _open(s, case_id) if k[0] in ("eu-ctr", "fda-ind")}

    data = working_data(s, cv)
    reaction, drug = data.reactions[0].id, data.suspect_drugs()[0].id
    day = cv.received_at.date() + timedelta(days=3)
    changes = assessment_recorded(s, case_id, SponsorAssessment(
        reaction, drug, day, causality=Relatedness.RELATED, method="WHO-UMC",
        result="Possible", by="Dr Vale"), base_settings, actor="user:physician")
    got = _open(s, case_id)
    assert got[("eu-ctr", "eu-ctr-susar-15")] == (day, day + timedelta(days=15)), changes
    assert got[("fda-ind", "fda-ind-15day")] == (day, day + timedelta(days=15))

    later = day + timedelta(days=2)
    changes = assessment_recorded(s, case_id, SponsorAssessment(
        reaction, drug, later, causality=Relatedness.NOT_RELATED), base_settings,
        actor="user:physician")
    assert "fda-ind/fda-ind-15day not required" in changes
    assert not {k for k in _open(s, case_id) if k[0] in ("eu-ctr", "fda-ind")}

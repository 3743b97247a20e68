"""The terminology search blueprint (on a minimal app) and the pipeline coding step."""

from __future__ import annotations

import pytest
from factories.coding import FIXTURES
from flask import Flask, g
from flask_smorest import Api

from safety.accounts.store import ApiClient
from safety.accounts.tokens import hash_token
from safety.api.terminology import blp
from safety.cases.model import CaseVersionData, CodedTerm, Drug, MedicalHistory, Reaction
from safety.coding import store
from safety.coding.case_coding import code_case
from safety.coding.meddra_ascii import load_meddra_ascii
from safety.config import Settings

TOKEN = "coding-test-token"


@pytest.fixture()
def client(db_session, tmp_path):
    """The terminology blueprint on a minimal app whose requests use the test's session."""
    db_session.add(ApiClient(name="t", role="safety", token_hash=hash_token(TOKEN),
                             token_prefix=TOKEN[:8]))
    db_session.commit()
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3",
                      SAFETY=Settings(home=tmp_path))
    Api(app).register_blueprint(blp)

    @app.before_request
    def open_session() -> None:
        g.db = db_session

    return app.test_client(), db_session


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_search_requires_a_token(client):
    http, _ = client
    assert http.get("/api/v1/terminology/events?q=nausea").status_code == 401


def test_event_search_uses_bundled_dictionary_when_none_is_stored(client):
    http, _ = client
    body = http.get("/api/v1/terminology/events?q=threw%20up%20blood", headers=AUTH).get_json()
    assert body["pt_code"] == "10018830" and body["auto"] is True
    assert body["family"] == "SafetyDesk-open" and body["candidates"]


def test_event_search_uses_the_active_stored_release(client):
    http, session = client
    store.save(session, load_meddra_ascii(FIXTURES / "MedAscii"))
    session.commit()
    body = http.get("/api/v1/terminology/events?q=head%20hurting&limit=2", headers=AUTH)
    data = body.get_json()
    assert (data["family"], data["code"], data["soc_code"]) == ("MedDRA", "95000001", "91000001")
    assert len(data["candidates"]) <= 2


def test_drug_search_and_validation(client):
    http, _ = client
    body = http.get("/api/v1/terminology/drugs?q=Advil%20200mg", headers=AUTH).get_json()
    assert body["code"] == "WK2XYI10QM" and body["moiety_code"] == "WK2XYI10QM"
    assert http.get("/api/v1/terminology/drugs", headers=AUTH).status_code == 422


def test_code_case_codes_uncoded_terms_and_keeps_decided_ones(events_coder, drugs_coder):
    manual = CodedTerm(verbatim="odd turn", code="10033371", method="manual", confirmed_by="dr")
    data = CaseVersionData(
        reactions=[Reaction(verbatim="threw up blood"), Reaction(verbatim="odd turn",
                                                                 coding=manual),
                   Reaction(verbatim="see narrative")],
        drugs=[Drug(name="Tylenol 500mg tab", indications=[CodedTerm(verbatim="headache")])],
    )
    data.patient.medical_history.append(MedicalHistory(condition=CodedTerm(verbatim="HTN")))
    out = code_case(data, events_coder, drugs_coder)
    case = out.data
    assert case.reactions[0].coding.pt_code == "10018830"
    assert case.reactions[0].coding.verbatim == "threw up blood"
    assert case.reactions[1].coding is not manual and case.reactions[1].coding == manual
    assert case.drugs[0].coding.code == "362O9ITL9D"
    assert case.drugs[0].indications[0].code == "10019211"
    assert case.patient.medical_history[0].condition.code == "10020772"
    # "threw up blood" came by a curated synonym to a term it does not name (Haematemesis):
    # a physician confirms it (issue 16); "see narrative" is no event at all.
    assert out.review == ["reactions[0]", "reactions[2]"]
    assert data.reactions[0].coding is None  # the input version is not modified

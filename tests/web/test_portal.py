"""The site portal: the browser form goes through the API's contract and pipeline."""

from __future__ import annotations

from factories.database import count_rows
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from safety.cases.store import Case
from safety.db.session import session_scope
from safety.intake.store import Report
from safety.web.portal import flatten_errors, form_to_json

GOOD = {
    "sae_id": "WEB-1", "awareness_date": "2026-11-02", "study.protocol_number": "ONC-301",
    "subject.id": "101-009", "subject.initials": "KL", "subject.sex": "male",
    "subject.weight_kg": "71.5",
    "reporter.given_name": "Ruth", "reporter.family_name": "Okafor",
    "reporter.qualification": "physician",
    "events.0.verbatim": "pneumonitis", "events.0.onset_date": "2026-10-28",
    "events.0.serious": "true", "events.0.seriousness": "hospitalisation",
    "events.0.ctcae_grade": "3", "events.0.causality.0": "probable",
    "drugs.0.name": "pembrolizumab", "drugs.0.role": "suspect", "drugs.0.dose.value": "200",
    "drugs.0.dose.unit": "mg", "drugs.0.investigational": "true",
}


def test_form_fields_become_the_api_json():
    body = form_to_json(MultiDict({**GOOD, "events.1.verbatim": "", "drugs.2.name": ""}))
    assert body["subject"] == {"id": "101-009", "initials": "KL", "sex": "male",
                               "weight_kg": 71.5}
    assert body["events"] == [{
        "verbatim": "pneumonitis", "onset_date": "2026-10-28", "serious": True,
        "seriousness": ["hospitalisation"], "ctcae_grade": 3,
        "causality": [{"drug": "pembrolizumab", "assessment": "probable"}]}]
    assert body["drugs"] == [{"name": "pembrolizumab", "role": "suspect",
                              "dose": {"value": 200.0, "unit": "mg"}, "investigational": True}]


def test_nested_errors_become_field_names():
    assert flatten_errors({"events": {0: {"verbatim": ["Missing"]}}, "sae_id": ["Bad"]}) == {
        "events.0.verbatim": ["Missing"], "sae_id": ["Bad"]}


def test_site_user_submits_and_follows_a_report(settings, users, browser, worker):
    users.add("site@example.org", "site_submitter", site="Site 101")
    b = browser()
    b.login("site@example.org")
    b.get("/portal/new")
    r = b.post("/portal/new", data=GOOD)
    assert r.status_code == 303, r.text
    page = b.get(r.headers["Location"]).text
    assert "received" in page and "pneumonitis" in page
    worker()
    assert "processed" in b.get(r.headers["Location"]).text
    with session_scope(settings.effective_database_url) as s:
        report = s.execute(select(Report)).scalar_one()
        case = s.execute(select(Case)).scalar_one()
    assert report.channel == "site_form" and report.sender == f"site:{report.site_id}"
    assert report.payload["sae_id"] == "WEB-1" and case.sender_case_id == "WEB-1"
    assert "WEB-1" in b.get("/portal").text


def test_invalid_form_is_shown_again_with_inline_errors_and_nothing_stored(
        settings, users, browser):
    users.add("site@example.org", "site_submitter", site="Site 101")
    b = browser()
    b.login("site@example.org")
    b.get("/portal/new")
    bad = {**GOOD, "awareness_date": "2026-13-40", "events.0.seriousness": "",
           "drugs.0.dose.value": "lots", "subject.sex": "robot"}
    r = b.post("/portal/new", data=bad)
    assert r.status_code == 422
    for name in ("awareness_date", "events.0.seriousness", "drugs.0.dose.value",
                 "subject.sex"):
        assert f'data-error-for="{name}"' in r.text, name
    assert 'value="pneumonitis"' in r.text  # what the user typed is kept
    # a causality for a drug row left blank: marked at its event × drug cell
    r = b.post("/portal/new", data={**GOOD, "events.0.causality.1": "possible"})
    assert r.status_code == 422
    assert 'data-error-for="events.0.causality.1"' in r.text
    assert "Drug 2 has no name" in r.text
    assert count_rows(settings.effective_database_url, Report) == 0


def test_portal_lists_only_the_users_own_site(settings, users, browser, make_case):
    make_case("Site B", sae_id="B-secret")
    users.add("site@example.org", "site_submitter", site="Site A")
    b = browser()
    b.login("site@example.org")
    assert "B-secret" not in b.get("/portal").text
    assert "No reports yet" in b.get("/portal").text


def test_a_causality_may_name_its_drug_by_name_though_it_has_a_ref():
    from factories.forms import sae_form

    from safety.intake.sae_form import form_to_case
    from safety.intake.service import SAE_FORM

    body = sae_form()
    body["events"][0]["causality"] = [{"drug": "pembrolizumab", "assessment": "possible"}]
    case = form_to_case(SAE_FORM.load(body))
    assert [a.result for link in case.drugs[0].reactions for a in link.assessments] == [
        "Possible"]


def test_pregnancy_becomes_d6_and_gk6():
    from factories.forms import sae_form

    from safety.intake.sae_form import form_to_case
    from safety.intake.service import SAE_FORM

    body = sae_form(pregnancy={"pregnant": True, "last_menstrual_period": "2026-08-01",
                               "gestation_weeks": 11})
    case = form_to_case(SAE_FORM.load(body))
    assert str(case.patient.last_menstrual_period) == "2026-08-01"
    assert case.drugs[0].gestation_exposure is not None
    assert (case.drugs[0].gestation_exposure.value,
            case.drugs[0].gestation_exposure.unit) == (11, "wk")


def test_a_sent_form_comes_back_as_the_same_fields():
    """What a follow-up starts from is what was sent: page fields → JSON → page fields → the
    same JSON (every section, null flavours, several causality cells)."""
    from factories.forms import sae_form

    from safety.web.portal import parse_form, payload_to_form

    body = sae_form(
        subject={"id": "9", "initials": {"nullFlavor": "MSK"}, "sex": "female",
                 "age": {"value": 61, "unit": "years"}, "weight_kg": 64.5},
        lab_tests=[{"name": "ALT", "value": 120.0, "unit": "U/L", "normal_high": "40"}],
        medical_history=[{"condition": "asthma", "continuing": True}],
        death={"date": "2026-11-20", "cause": "sepsis", "autopsy": False},
        pregnancy={"pregnant": True, "gestation_weeks": 12.0})
    body["drugs"].append({"name": "carboplatin", "role": "suspect"})
    body["events"][0]["causality"].append({"drug": "carboplatin", "assessment": "unlikely"})
    del body["report_type"]
    parsed = parse_form(payload_to_form(body)).body
    # "no" stays no (not "not given"); numbers come back as numbers
    expected = dict(body)
    expected["subject"] = {**body["subject"], "age": {"value": 61.0, "unit": "years"}}
    assert parsed == expected


def test_every_error_of_any_form_lands_on_a_field_the_page_shows():
    """Whatever is typed where: each error the schema finds is at a field the page renders
    (or in the named box at the top), never lost between the count and the marks."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from marshmallow import ValidationError

    from safety.intake.service import SAE_FORM
    from safety.web import sae_layout as layout
    from safety.web.portal import _rows, parse_form, place_errors

    names = layout.field_names({"events": 3, "drugs": 3, "lab_tests": 2,
                                "medical_history": 2})
    junk = st.sampled_from(["", "x", "-1", "2026-13-01", "true", "false", "9" * 300,
                            "probable", "hospitalisation", "nullFlavor:MSK", "3.5", "male"])

    @settings(max_examples=60, deadline=None)
    @given(st.dictionaries(st.sampled_from(names), junk, max_size=25))
    def check(typed: dict[str, str]) -> None:
        form = MultiDict(typed)
        parsed = parse_form(form)
        shown = layout.field_names(_rows(form))
        try:
            SAE_FORM.load(parsed.body)
            flat: dict[str, list[str]] = {}
        except ValidationError as err:
            flat = flatten_errors(err.messages)
        placed = place_errors(flat, parsed, shown)
        assert set(placed) <= set(shown) | {"_schema"}, placed
        assert sum(map(len, placed.values())) >= len(flat)

    check()

"""Acceptance (issue 19), end to end over every output a blinded audience gets: generated
blinded-study SUSARs (arm labels long and short, strengths, kit numbers, narratives naming
the drug, the strength, the kit, the arm) go through the site form, the pipeline and the
reveal; then the API answer, the case page, the E2B message to an ethics committee and to an
investigator, the CIOMS I form (its PDF's text, extracted with pypdf), the line listings (web
and API, CSV and XLSX) and the original report hold no arm-revealing value, while the
regulator's message and the DSMB's unblinded one name the drug the subject received.

The secrets are checked as the generated values themselves (plain substrings; a short label
in the words that would make it an arm's or a kit's), not through the module's own matcher.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from factories.accounts import PASSWORD, Sites, add_user
from factories.cases import case_in_session
from factories.database import reset
from factories.forms import sae_form
from factories.products import give_demo_sender
from factories.web import Browser
from flask import Flask
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from safety.accounts.store import User
from safety.blinding.audience import Audience, BlindingError
from safety.blinding.mask import BLINDED_DRUG
from safety.blinding.outputs import e2b_for
from safety.cases.store import Case, current_version, working_data
from safety.cli import main
from safety.config import Settings
from safety.db.session import session_scope
from safety.e2b.writer import ExportHeader
from safety.products.service import import_registry, registry_from_json
from safety.review.assessing import NARANJO_QUESTIONS
from safety.review.outputs import AudienceExportRefused, e2b_for_audience
from safety.review.unblinding import REVEAL_MEANING, blinding_for, import_randomisation

NEUTRAL = "Subject admitted with fever and recovered after two weeks."
PROTOCOL = "BLD-301"
SUBJECT = "101-004"
syllables = st.sampled_from(["zel", "vor", "tra", "mox", "qua", "rel", "dan", "lix", "bor"])
drug_names = st.lists(syllables, min_size=3, max_size=4).map(lambda s: "".join(s).capitalize())
strengths = st.integers(11, 990)
long_kits = st.integers(100000, 999999).map(lambda n: f"KT{n}")
short_kits = st.integers(1, 99).map(str)
short_arms = st.sampled_from(["A", "B", "C", "X1", "2B"])
BLIND_AUDIENCES = (Audience.ETHICS_COMMITTEE, Audience.INVESTIGATOR, Audience.STUDY_TEAM)


@dataclass(frozen=True)
class Trial:
    active: str
    substance: str
    comparator: str
    strength: int
    arm: str
    other_arm: str
    kits: tuple[str, ...]
    placebo_kit: str
    mentions: tuple[str, ...]

    @property
    def plain(self) -> set[str]:
        """The values that must not appear anywhere (substrings, any case)."""
        out = {self.active, self.substance, self.comparator, f"{self.strength} mg", "placebo",
               self.placebo_kit, *self.kits}
        return {v for v in out if len(v) >= 3} | {a for a in (self.arm, self.other_arm)
                                                  if len(a) >= 3}

    @property
    def short(self) -> set[str]:
        return {v for v in (self.arm, self.other_arm, *self.kits, self.placebo_kit)
                if len(v) < 3}


@st.composite
def trials(draw: st.DrawFn) -> Trial:
    active, substance, comparator = draw(st.lists(drug_names, min_size=3, max_size=3,
                                                  unique_by=str.casefold))
    strength = draw(strengths)
    arm, other = draw(st.one_of(
        st.tuples(st.just(f"Arm {active} {strength} mg"), st.just(f"Arm {comparator}")),
        st.lists(short_arms, min_size=2, max_size=2, unique=True).map(tuple)))
    kits = tuple(draw(st.lists(st.one_of(long_kits, short_kits), min_size=1, max_size=3,
                               unique=True)))
    placebo_kit = draw(long_kits.filter(lambda k: k not in kits))
    templates = [f"The subject received {active} {strength} mg from kit {kits[0]}.",
                 f"Kit {kits[0]} ({substance}) was dispensed at visit 3.",
                 f"Subject randomised to {arm}.",
                 f"Dose of {strength} mg taken daily; {comparator} is the comparator.",
                 f"The investigator suspects {active.upper()} caused the event.",
                 f"Treatment {arm} was stopped."]
    mentions = tuple(draw(st.lists(st.sampled_from(templates), min_size=1, max_size=3,
                                   unique=True)))
    return Trial(active, substance, comparator, strength, arm, other, kits, placebo_kit,
                 mentions)


def _assert_blind(text: str, trial: Trial, where: str) -> None:
    low = text.casefold()
    for value in trial.plain:
        assert value.casefold() not in low, f"{where}: {value!r}"
    for label in trial.short:
        context = re.compile(r"\b(?:arm|group|cohort|treatment|kit|randomi[sz]ed to)\s*[:#-]?\s*"
                             + re.escape(label) + r"(?!\w)", re.IGNORECASE)
        found = context.search(text)
        assert found is None, f"{where}: {found.group(0) if found else ''!r}"
        if any(c.isdigit() for c in label) and any(c.isalpha() for c in label):
            assert not re.search(rf"(?<!\w){re.escape(label)}(?!\w)", text, re.IGNORECASE), \
                f"{where}: {label!r}"


def _registry(trial: Trial) -> dict[str, object]:
    statuses = [{"jurisdiction": j, "status": "investigational"} for j in ("US", "EU", "UK")]
    return {
        "products": [{"id": "IMP1", "name": trial.active, "substances": [trial.substance],
                      "aliases": [f"{trial.active} or matching placebo"],
                      "statuses": statuses},
                     {"id": "CMP1", "name": trial.comparator, "statuses": statuses}],
        "studies": [{"protocol": PROTOCOL, "jurisdictions": ["US", "EU", "UK"],
                     "ind_numbers": ["145999"], "products": ["IMP1", "CMP1"], "blinded": True,
                     "title": "A blinded study"}],
    }


def _listing_text(body: bytes, fmt: str) -> str:
    if fmt == "csv":
        return body.decode("utf-8")
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)


@pytest.fixture()
def world(settings: Settings, app: Flask) -> Iterator[tuple[Settings, Flask]]:
    yield settings, app


def _set_up(settings: Settings, trial: Trial) -> str:
    url = settings.effective_database_url
    reset(url)
    with session_scope(url) as session:
        import_registry(session, registry_from_json(_registry(trial)), "test", 1)
        give_demo_sender(session, 1)  # C.3: the committee's message is conformant
        unblinder = session.get_one(User, add_user(session, "unblind@cro.test",
                                                   "unblinded_physician"))
        add_user(session, "doc@cro.test", "safety_physician")
        import_randomisation(session, unblinder, 1, PROTOCOL,
                             "Subject,Arm,Treatment,Strength,Kit\n"
                             f"{SUBJECT},{trial.arm},IMP1,{trial.strength} mg,"
                             f"{';'.join(trial.kits)}\n"
                             f"101-005,{trial.other_arm},placebo,,{trial.placebo_kit}\n")
        form = sae_form(
            study={"protocol_number": PROTOCOL, "name": "A blinded study"},
            subject={"id": SUBJECT, "initials": "JD", "sex": "female", "birth_date": "1961-04"},
            drugs=[{"ref": "IMP", "name": f"{trial.active} or matching placebo",
                    "role": "suspect", "investigational": True,
                    "dose": {"value": trial.strength, "unit": "mg"}, "route": "oral",
                    "batch": trial.kits[0], "start_date": "2026-08-01",
                    "action_taken": "withdrawn", "indication": "NSCLC"}],
            narrative=" ".join((NEUTRAL, *trial.mentions)))
        return case_in_session(session, settings, form)


def _blinded_outputs(settings: Settings, app: Flask, case_id: str, trial: Trial) -> None:
    """Every output a blinded audience gets, checked."""
    url = settings.effective_database_url
    doc = Browser(app.test_client())
    assert doc.login("doc@cro.test").status_code == 302
    page = doc.get(f"/cases/{case_id}")
    assert page.status_code == 200, page.text[:300]
    html = page.text
    for question in NARANJO_QUESTIONS:  # the questionnaire's own fixed words: no arm of anyone
        html = html.replace(question, "")
    _assert_blind(html, trial, "case page")
    assert f"/cases/{case_id}/versions/1/source" not in html  # no link to the unmasked bytes
    assert f"/cases/{case_id}/submissions/" not in html  # nor to a regulator's message
    assert BLINDED_DRUG in page.text

    sites = Sites(url)
    headers = sites.headers(sites.token("PV", role="safety"))
    api = app.test_client()
    answer = api.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert answer.status_code == 200
    _assert_blind(answer.get_data(as_text=True), trial, "API case")
    assert BLINDED_DRUG in answer.get_data(as_text=True)
    listed = api.get(f"/api/v1/cases/{case_id}/submissions", headers=headers)
    assert listed.status_code == 200
    _assert_blind(listed.get_data(as_text=True), trial, "API submissions")
    for sub in listed.get_json():
        assert api.get(f"/api/v1/submissions/{sub['id']}/xml",
                       headers=headers).status_code == 403

    for audience in BLIND_AUDIENCES:
        r = doc.get(f"/cases/{case_id}/cioms1.pdf?audience={audience.value}")
        assert r.status_code == 200, r.text[:300]
        text = _pdf_text(r.data)
        _assert_blind(text, trial, f"CIOMS I {audience}")
        assert BLINDED_DRUG in text and "fever" in text
        for fmt in ("csv", "xlsx"):
            r = doc.get(f"/queue/line-listing.{fmt}?all=1&audience={audience.value}")
            assert r.status_code == 200
            listing = _listing_text(r.data, fmt)
            _assert_blind(listing, trial, f"line listing {fmt} {audience}")
            assert BLINDED_DRUG in listing
    r = api.get(f"/api/v1/cases/{case_id}/cioms1.pdf?audience=investigator", headers=headers)
    assert r.status_code == 200
    _assert_blind(_pdf_text(r.data), trial, "API CIOMS I")
    r = api.get("/api/v1/line-listing?all=true&audience=ethics_committee", headers=headers)
    assert r.status_code == 200
    _assert_blind(r.get_data(as_text=True), trial, "API line listing")

    with session_scope(url) as session:
        case = session.get_one(Case, uuid.UUID(case_id))
        for audience in (Audience.ETHICS_COMMITTEE, Audience.INVESTIGATOR):
            result = e2b_for_audience(session, case, audience, settings)
            assert result.ready, [str(f) for f in result.findings]
            xml = result.xml.decode()
            _assert_blind(xml, trial, f"E2B {audience}")
            assert BLINDED_DRUG in xml and "fever" in xml
            with pytest.raises(BlindingError, match=audience.value):
                e2b_for_audience(session, case, audience, settings, unblinded=True)
    assert doc.get(f"/cases/{case_id}/versions/1/source").status_code == 403


@pytest.mark.slow
# Each example is a whole study through the pipeline: few of them, no shrinking (a failure
# prints its generated trial in full).
@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(trial=trials())
@example(trial=Trial("Zelvorin", "Zelvoranib", "Moxdan", 20, "A", "B", ("7", "KT100200"),
                     "KT100201", ("Subject randomised to A.", "Kit 7 (Zelvoranib) was given.",
                                  "Treatment A was stopped.")))
def test_no_blinded_output_reveals_the_arm_and_the_regulator_gets_the_drug(
        world: tuple[Settings, Flask], trial: Trial) -> None:
    settings_, app = world
    url = settings_.effective_database_url
    case_id = _set_up(settings_, trial)
    _blinded_outputs(settings_, app, case_id, trial)  # before the reveal

    unblinder = Browser(app.test_client())
    assert unblinder.login("unblind@cro.test").status_code == 302
    r = unblinder.post(f"/cases/{case_id}/unblind", data={
        "reason": "SUSAR on blinded information", "meaning": REVEAL_MEANING,
        "password": PASSWORD})
    assert r.status_code == 303
    _blinded_outputs(settings_, app, case_id, trial)  # after it: still blind for them

    # The regulator's message (the system's, after the reveal) and the DSMB's unblinded one
    # name what the subject received and its kit; "or matching placebo" is gone.
    with session_scope(url) as session:
        case = session.get_one(Case, uuid.UUID(case_id))
        data = working_data(session, current_version(session, case))
        regulator = e2b_for(data, ExportHeader(sender_id="SD", destination="ema"),
                            Audience.REGULATOR, blinding_for(session, case, data, None),
                            unblinded=True).xml.decode()
        dsmb = e2b_for_audience(session, case, Audience.DSMB, settings_,
                                unblinded=True).xml.decode()
        with pytest.raises(AudienceExportRefused, match="regulator"):
            e2b_for_audience(session, case, Audience.REGULATOR, settings_)
    for xml in (regulator, dsmb):
        assert f">{trial.active}<" in xml
        assert trial.kits[0] in xml
        assert "matching placebo" not in xml
    pdf = unblinder.get(f"/cases/{case_id}/cioms1.pdf?audience=dsmb&unblinded=1")
    assert pdf.status_code == 200
    assert trial.active in _pdf_text(pdf.data)


def test_an_unblinded_document_is_refused_for_a_blind_audience_naming_it(
        settings: Settings, app: Flask) -> None:
    trial = Trial("Zelvorin", "Zelvoranib", "Moxdan", 20, "A", "B", ("K-7781",), "K-7782",
                  ("Kit K-7781 was taken.",))
    case_id = _set_up(settings, trial)
    doc, unblinder = Browser(app.test_client()), Browser(app.test_client())
    assert doc.login("doc@cro.test").status_code == 302
    assert unblinder.login("unblind@cro.test").status_code == 302
    for audience in BLIND_AUDIENCES:
        r = unblinder.get(f"/cases/{case_id}/cioms1.pdf?audience={audience.value}&unblinded=1")
        assert r.status_code == 400 and audience.value in r.text
        r = unblinder.get(f"/queue/line-listing.csv?audience={audience.value}&unblinded=1")
        assert r.status_code == 400 and audience.value in r.text
    # the DSMB may have it, but only from the unblinded role and only after the reveal
    assert doc.get(f"/cases/{case_id}/cioms1.pdf?audience=dsmb&unblinded=1").status_code == 403
    r = unblinder.get(f"/cases/{case_id}/cioms1.pdf?audience=dsmb&unblinded=1")
    assert r.status_code == 400 and "not been broken" in r.text
    assert doc.get(f"/cases/{case_id}/cioms1.pdf?audience=nobody").status_code == 400
    # the unblinded physician may read the original report; the blinded one may not
    assert unblinder.get(f"/cases/{case_id}/versions/1/source").status_code == 200
    assert doc.get(f"/cases/{case_id}/versions/1/source").status_code == 403

    sites = Sites(settings.effective_database_url)
    headers = sites.headers(sites.token("PV", role="safety"))
    client = app.test_client()
    r = client.get(f"/api/v1/cases/{case_id}/cioms1.pdf?audience=ethics_committee"
                   "&unblinded=true", headers=headers)
    assert r.status_code == 400 and "ethics_committee" in r.get_data(as_text=True)
    r = client.get(f"/api/v1/cases/{case_id}/cioms1.pdf?audience=dsmb&unblinded=true",
                   headers=headers)
    assert r.status_code == 403

    with session_scope(settings.effective_database_url) as session:
        number = session.get_one(Case, uuid.UUID(case_id)).case_number
    res = CliRunner().invoke(main, ["export", "e2b", number, "--audience", "investigator",
                                    "--unblinded"])
    assert res.exit_code != 0 and "investigator must stay blind" in res.output
    res = CliRunner().invoke(main, ["export", "e2b", number, "--audience", "ethics_committee"])
    assert res.exit_code == 0, [line for line in res.output.splitlines()
                                if line.startswith(("ERROR", "note"))]
    assert BLINDED_DRUG in res.output
    for value in ("Zelvorin", "Zelvoranib", "K-7781", "20 mg", "placebo"):
        assert value.casefold() not in res.output.casefold(), value

"""The CIOMS I form filled from a site's SAE form: each value in its box (CIOMS Working Group
I form, boxes 1-25), read back from the PDF's text; page 1 rendered to
tests/artifacts/cioms1/ when pdftoppm (Debian poppler-utils) is installed."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from factories.forms import sae_form
from pypdf import PdfReader

from safety.cases.model import CaseVersionData, Sender
from safety.intake.sae_form import form_to_case
from safety.intake.schemas import SAEFormSchema
from safety.review.cioms1 import cioms1_form, pdf_text, render_pdf

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "cioms1"


def _case() -> CaseVersionData:
    """The factory's SAE (febrile neutropenia on pembrolizumab, study ONC-301), with a
    concomitant drug, a history and the sender block the sponsor sends as."""
    form = sae_form()
    form["drugs"].append({"name": "metformin", "role": "concomitant",
                          "dose": {"value": 500, "unit": "mg"}, "start_date": "2020-01-15"})
    form["medical_history"] = [{"condition": "type 2 diabetes", "start_date": "2015",
                                "continuing": True}]
    case = form_to_case(SAEFormSchema().load(form))
    case.admin.worldwide_case_id = "GB-ONCOTHERA-2026000017"
    case.admin.first_received = case.awareness_date  # type: ignore[assignment]
    case.sender = Sender(organisation="Oncothera Inc.", street="200 Harbor Way",
                         city="Boston", country="US")
    return case


# What each box must say, from the SAE form above (written before the code).
EXPECTED = {
    "1": "JD", "1a": "GB", "2": "APR 1961", "3": "F", "4-6": "30 OCT 2026",
    "14": "pembrolizumab", "15": "200 mg", "16": "intravenous", "17": "NSCLC",
    "18": "01 AUG 2026 - continuing",
    # withdrawn (G.k.8 = 1) and the event is recovering (E.i.7 = 2): it abated
    "20": "YES",
    "22": "metformin (15 JAN 2020 - continuing)",
    "23": "type 2 diabetes (from 2015), continuing",
    "24b": "GB-ONCOTHERA-2026000017", "24c": "02 NOV 2026", "date": "07 DEC 2026",
}


def _form():  # type: ignore[no-untyped-def]
    return cioms1_form(_case(), case_number="ONC-2026-000017", version=1,
                       today=date(2026, 12, 7), follow_up=False)


def test_each_box_holds_the_cases_value():
    form = _form()
    for number, value in EXPECTED.items():
        assert form.box(number).value == value, number
    describe = form.box("7+13").value
    assert describe.startswith("1. febrile neutropenia; onset 30 OCT 2026; outcome recovering")
    assert "Subject admitted with fever 39.2C and ANC 0.3." in describe
    ticked = [label for label, on in form.box("8-12").checks if on]
    assert ticked == ["INVOLVED OR PROLONGED INPATIENT HOSPITALISATION"]
    assert dict(form.box("24d").checks) == {"STUDY": True, "LITERATURE": False,
                                            "HEALTH PROFESSIONAL": True}
    assert dict(form.box("25a").checks) == {"INITIAL": True, "FOLLOWUP": False}
    assert "Oncothera Inc." in form.box("24a").value and "Boston" in form.box("24a").value


def test_a_follow_up_and_a_rechallenge():
    case = _case()
    case.drugs[0].reactions[0].recurrence = "1"  # G.k.9.i.4: rechallenged, recurred
    form = cioms1_form(case, case_number="X", version=2, today=date(2026, 12, 7),
                       follow_up=True)
    assert form.box("21").value == "YES"
    assert dict(form.box("25a").checks) == {"INITIAL": False, "FOLLOWUP": True}


def test_a_blinded_view_masks_every_suspect_drug_box_and_nothing_else():
    form = _form()
    masked = form.masked()
    hidden = {b.number for b in masked.boxes if b.value == "BLINDED"}
    assert hidden == {"14", "15", "16", "17", "18", "19", "20", "21"}
    assert masked.box("22").value == form.box("22").value
    assert "pembrolizumab" not in render_text(render_pdf(masked))


def render_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_opens_and_shows_the_values_in_their_boxes():
    pdf = render_pdf(_form())
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and "ONC-2026-000017" in (reader.metadata.title or "")
    content = " ".join(render_text(pdf).split())  # a box's text may wrap
    for label in ("CIOMS FORM", "SUSPECT ADVERSE REACTION REPORT", "1. PATIENT INITIALS",
                  "7+13. DESCRIBE REACTION(S)", "14. SUSPECT DRUG(S)", "15. DAILY DOSE(S)",
                  "22. CONCOMITANT DRUG(S)", "24b. MFR CONTROL NO.", "25a. REPORT TYPE"):
        assert label in content, label
    for value in EXPECTED.values():
        assert value in content, value
    assert "[X] INVOLVED OR PROLONGED INPATIENT HOSPITALISATION" in content
    assert "[X] INITIAL" in content and "[ ] FOLLOWUP" in content


def test_a_long_narrative_continues_on_a_continuation_page():
    case = _case()
    sentences = [f"Day {i}: temperature and counts recorded, sentence number {i}."
                 for i in range(1, 121)]
    case.narrative.narrative = " ".join(sentences)
    pdf = render_pdf(cioms1_form(case, case_number="X", version=1, today=date(2026, 12, 7),
                                 follow_up=False))
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) >= 2
    assert "(continued on the continuation page)" in pages[0]
    assert "Day 120" not in pages[0]
    rest = " ".join(pages[1:])
    assert "CIOMS FORM - CONTINUATION" in rest and "7+13. DESCRIBE REACTION(S)" in rest
    assert sentences[0] in rest and sentences[-1] in rest
    # the boxes after it are all still on the form
    assert all(f"{n}. " in " ".join(pages) for n in ("14", "22", "24a", "25a"))


def test_text_outside_latin_1_is_written_readably():
    assert pdf_text("Müller – 39 °C → ICU") == "Müller - 39 °C -> ICU"
    assert pdf_text("Dvořák") == "Dvorák"  # á is in Latin-1, ř is not
    assert pdf_text("田中") == "??"
    case = _case()
    case.patient.initials = "ŁŻ"
    pdf = render_pdf(cioms1_form(case, case_number="X", version=1, today=date(2026, 12, 7),
                                 follow_up=False))
    assert "LZ" in render_text(pdf)


def test_page_one_as_an_image_for_reviewers():
    """Not an assertion on looks: the picture CI keeps so a person can look at the form."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / "cioms1.pdf"
    source.write_bytes(render_pdf(_form()))
    subprocess.run([pdftoppm, "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile",
                    str(source), str(ARTIFACTS / "cioms1-page-1")], check=True, timeout=60)
    png = ARTIFACTS / "cioms1-page-1.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

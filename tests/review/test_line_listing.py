"""The CIOMS II line listing (CIOMS Working Group II, 1992: company reference number, country,
source, age/sex, daily dose, onset, treatment dates, reactions as MedDRA PTs, outcome,
comments) of a site's SAE, as CSV and XLSX."""

from __future__ import annotations

import csv
import io

from factories.forms import sae_form
from openpyxl import load_workbook

from safety.cases.model import CodedTerm
from safety.intake.sae_form import form_to_case
from safety.intake.schemas import SAEFormSchema
from safety.review.line_listing import COLUMNS, ListedCase, listing_row, to_csv, to_xlsx


def _listed() -> ListedCase:
    case = form_to_case(SAEFormSchema().load(sae_form()))
    case.admin.worldwide_case_id = "GB-ONCOTHERA-2026000017"
    case.reactions[0].coding = CodedTerm(verbatim="febrile neutropenia", code="10016288",
                                         term="Febrile neutropenia", pt_code="10016288",
                                         pt_term="Febrile neutropenia")
    return ListedCase("ONC-2026-000017", 2, case)


# The factory's SAE form, column by column (written before the code).
EXPECTED = {
    "case_number": "ONC-2026-000017", "version": "2",
    "reference": "GB-ONCOTHERA-2026000017", "country": "GB",
    "source": "study, physician", "age_sex": "F", "suspect_drugs": "pembrolizumab",
    "daily_dose": "200 mg; intravenous", "onset": "30 OCT 2026",
    "treatment": "01 AUG 2026 - continuing", "reactions": "Febrile neutropenia",
    "outcome": "recovering",
    "comments": "serious: hospitalisation; causality Investigator: Related",
}


def test_one_line_with_the_cioms_ii_columns():
    assert listing_row(_listed()) == EXPECTED
    assert [key for key, _ in COLUMNS] == list(EXPECTED)


def test_csv_and_xlsx_carry_the_same_lines():
    rows = [listing_row(_listed())]
    text = to_csv(rows).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [label for _, label in COLUMNS]
    assert lines[1] == list(EXPECTED.values())
    sheet = load_workbook(io.BytesIO(to_xlsx(rows, "listing"))).active
    assert sheet is not None
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0] == [label for _, label in COLUMNS]
    assert values[1] == list(EXPECTED.values())
    assert sheet.freeze_panes == "A2"


def test_a_cell_is_never_a_formula():
    """CSV injection (OWASP): a reported term starting with = is text in a spreadsheet."""
    listed = _listed()
    listed.data.reactions[0].coding = None
    listed.data.reactions[0].verbatim = "=HYPERLINK(\"http://x\")"
    rows = [listing_row(listed)]
    line = list(csv.reader(io.StringIO(to_csv(rows).decode("utf-8-sig"))))[1]
    assert line[10] == "'=HYPERLINK(\"http://x\")"
    sheet = load_workbook(io.BytesIO(to_xlsx(rows, "t"))).active
    assert sheet is not None and sheet.cell(row=2, column=11).data_type == "s"

"""A line listing of cases with the columns of a CIOMS II line listing, as CSV and XLSX.

Source: CIOMS Working Group II, *International Reporting of Periodic Drug-Safety Update
Summaries* (1992), the line listing's columns: company (MAH) case reference number, country,
source, age and sex, daily dose (with route and formulation), date of onset of the reaction,
dates of treatment (or duration), reaction(s) as MedDRA preferred terms, outcome, comments.
ICH E2C(R2) (PBRER) keeps the same content for its line listings. We add the case number and
version (to find the case) and the suspect drug(s) (a listing may span products).

One line per case, in the order given (the queue's: most urgent first). Values come from the
case as worked (with its coding); nothing is invented: an unknown value is an empty cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from safety.cases.model import CaseVersionData, Drug
from safety.review.cioms1 import OUTCOMES, SEX, form_date, quantity, text

COLUMNS: tuple[tuple[str, str], ...] = (
    ("case_number", "Case number"),
    ("version", "Version"),
    ("reference", "MAH case reference number"),
    ("country", "Country"),
    ("source", "Source"),
    ("age_sex", "Age / sex"),
    ("suspect_drugs", "Suspect drug(s)"),
    ("daily_dose", "Daily dose; route; formulation"),
    ("onset", "Date of onset"),
    ("treatment", "Dates of treatment (or duration)"),
    ("reactions", "Reaction(s) (MedDRA PT)"),
    ("outcome", "Outcome"),
    ("comments", "Comments"),
)
SOURCES = {"1": "spontaneous", "2": "study", "3": "other", "4": "not available to sender"}
QUALIFICATIONS = {"1": "physician", "2": "pharmacist", "3": "other health professional",
                  "4": "lawyer", "5": "consumer"}
SERIOUS = (("death", "fatal"), ("life_threatening", "life-threatening"),
           ("hospitalisation", "hospitalisation"), ("disability", "disability"),
           ("congenital_anomaly", "congenital anomaly"),
           ("other_medically_important", "medically important"))


@dataclass(frozen=True)
class ListedCase:
    """What the listing needs of a case besides its data."""

    case_number: str
    version: int
    data: CaseVersionData


def _source(data: CaseVersionData) -> str:
    parts = [SOURCES.get(data.admin.report_type or "", "")]
    if data.literature:
        parts.append("literature")
    quals = {QUALIFICATIONS.get(str(r.qualification), "") for r in data.reporters}
    parts += sorted(q for q in quals if q)
    return ", ".join(p for p in parts if p)


def _dose(d: Drug) -> str:
    out = []
    for ds in d.dosages:
        bits = [quantity(ds.dose)]
        if ds.interval:
            bits.append(f"every {quantity(ds.interval)}")
        bits += [text(ds.route), text(ds.dose_form)]
        out.append("; ".join(b for b in bits if b))
    return " | ".join(o for o in out if o)


def _treatment(d: Drug) -> str:
    out = []
    for ds in d.dosages:
        if ds.start or ds.end:
            out.append(f"{form_date(ds.start) or '?'} - {form_date(ds.end) or 'continuing'}")
        elif ds.duration:
            out.append(quantity(ds.duration))
    return " | ".join(out)


def listing_row(case: ListedCase) -> dict[str, str]:
    """The CIOMS II columns of one case."""
    data = case.data
    p = data.patient
    suspects = data.suspect_drugs()
    several = len(suspects) > 1

    def each(show: Callable[[Drug], str]) -> str:
        values = [(f"{text(d.name)}: " if several else "") + show(d) for d in suspects]
        return " / ".join(v for v in values if v.strip(": "))

    onsets = [r.start for r in data.reactions if r.start]
    countries = [text(r.country) for r in data.reactions if r.country]
    if not countries and data.reporters and data.reporters[0].country:
        countries = [text(data.reporters[0].country)]
    age = quantity(p.age_at_onset)
    sex = SEX.get(str(p.sex), text(p.sex)) if p.sex is not None else ""
    reactions = []
    for r in data.reactions:
        name = (r.coding.pt_term or r.coding.term) if r.coding is not None else None
        reactions.append(name or text(r.verbatim))
    outcomes = [OUTCOMES.get(str(r.outcome), text(r.outcome)) for r in data.reactions
                if r.outcome is not None]
    serious = sorted({label for r in data.reactions for key, label in SERIOUS
                      if getattr(r.seriousness, key) is True})
    comments = []
    if serious:
        comments.append("serious: " + ", ".join(serious))
    assessments = [f"{text(a.source)}: {text(a.result)}" for d in suspects
                   for link in d.reactions for a in link.assessments if a.result]
    if assessments:
        comments.append("causality " + "; ".join(dict.fromkeys(assessments)))
    return {
        "case_number": case.case_number, "version": str(case.version),
        "reference": text(data.admin.worldwide_case_id or data.admin.sender_safety_report_id),
        "country": ", ".join(dict.fromkeys(countries)),
        "source": _source(data),
        "age_sex": " / ".join(x for x in (age, sex) if x),
        "suspect_drugs": ", ".join(text(d.name) for d in suspects),
        "daily_dose": each(_dose),
        "onset": ", ".join(dict.fromkeys(form_date(d) for d in onsets)),
        "treatment": each(_treatment),
        "reactions": "; ".join(r for r in reactions if r),
        "outcome": "; ".join(outcomes),
        "comments": "; ".join(comments),
    }


def to_csv(rows: list[dict[str, str]]) -> bytes:
    """UTF-8 with a byte order mark (spreadsheets then read the accents right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow([_cell(row[key]) for key, _ in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def _cell(value: str) -> str:
    """A spreadsheet never runs a cell as a formula (CSV injection, OWASP)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_xlsx(rows: list[dict[str, str]], title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its sheet
    ws.title = "Line listing"
    ws.append([label for _, label in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_cell(row[key]) for key, _ in COLUMNS])
    widths = {"reactions": 40, "comments": 40, "daily_dose": 30, "treatment": 28,
              "reference": 28, "source": 24, "suspect_drugs": 24}
    for i, (key, _) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(key, 14)
    for line in ws.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    wb.properties.title = title
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

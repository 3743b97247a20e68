"""The CIOMS I form ("Suspect adverse reaction report"), filled from a case version.

Source: CIOMS Working Group I, *International Reporting of Adverse Drug Reactions* (1990), the
CIOMS I form and its box numbering: I. reaction information (boxes 1–13), II. suspect drug(s)
information (14–21), III. concomitant drug(s) and history (22–23), IV. manufacturer
information (24a–25a). Each box is filled from the E2B(R3) elements named beside it.

One function, :func:`cioms1_form`, turns a case into the form's boxes (the view model); the
PDF (:func:`render_pdf`) only draws them. Boxes that describe a suspect drug are marked
(``suspect_drug``) so a blinded view (issue 19) can mask them in one place
(:meth:`Cioms1Form.masked`) and every rendering follows.

Two boxes are derived, as the form asks questions E2B does not: 20 (did the reaction abate
after stopping the drug?) from G.k.8 action taken = drug withdrawn and the outcome E.i.7 of the
reactions linked to the drug; 21 (did it reappear after reintroduction?) from G.k.9.i.4.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from fpdf import FPDF

from safety.cases.model import CaseVersionData, CodedTerm, Drug, Quantity
from safety.cases.values import NullFlavor, PartialDate

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
NULL_WORDS = {NullFlavor.MSK: "masked", NullFlavor.UNK: "unknown", NullFlavor.ASKU: "unknown",
              NullFlavor.NASK: "not asked", NullFlavor.NI: "no information",
              NullFlavor.NA: "not applicable", NullFlavor.OTH: "other"}
SEX = {"1": "M", "2": "F"}
UNITS = {"a": "years", "mo": "months", "wk": "weeks", "d": "days", "h": "hours",
         "{decade}": "decades"}
OUTCOMES = {"0": "unknown", "1": "recovered", "2": "recovering", "3": "not recovered",
            "4": "recovered with sequelae", "5": "fatal"}
# CIOMS I boxes 8-12 (and the criteria ICH E2A added), from E.i.3.2a-f.
CRITERIA = (("death", "PATIENT DIED"),
            ("hospitalisation", "INVOLVED OR PROLONGED INPATIENT HOSPITALISATION"),
            ("disability", "INVOLVED PERSISTENCE OR SIGNIFICANT DISABILITY OR INCAPACITY"),
            ("life_threatening", "LIFE THREATENING"),
            ("congenital_anomaly", "CONGENITAL ANOMALY"),
            ("other_medically_important", "OTHER MEDICALLY IMPORTANT CONDITION"))
RECOVERED = {"1", "2", "4"}
NOT_RECOVERED = {"3", "5"}


@dataclass(frozen=True)
class Box:
    """One box of the form: its number, its printed label, what is written in it."""

    number: str
    label: str
    value: str = ""
    checks: tuple[tuple[str, bool], ...] = ()  # tick boxes: (label, ticked)
    suspect_drug: bool = False  # describes a suspect drug (hidden in a blinded view)


@dataclass(frozen=True)
class Cioms1Form:
    case_number: str
    version: int
    boxes: tuple[Box, ...] = field(default_factory=tuple)

    def box(self, number: str) -> Box:
        return next(b for b in self.boxes if b.number == number)

    def words(self) -> str:
        """Every word the form prints (labels, values, tick boxes), for the blinding check."""
        return "\n".join([self.case_number, *(
            part for b in self.boxes
            for part in (b.label, b.value, *(label for label, _ in b.checks)))])

    def masked(self, text: str = "BLINDED") -> Cioms1Form:
        """The same form with every suspect-drug box's content replaced by ``text``."""
        return replace(self, boxes=tuple(
            replace(b, value=text, checks=()) if b.suspect_drug else b for b in self.boxes))


def text(value: object) -> str:
    """A case value as a person reads it on the form."""
    if value is None:
        return ""
    if isinstance(value, NullFlavor):
        return f"{NULL_WORDS.get(value, value.value)} ({value.value})"
    if isinstance(value, PartialDate):
        return form_date(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_date(d: PartialDate | NullFlavor | None) -> str:
    """Day month year as the form prints them (``30 OCT 2026``), only as precise as known."""
    if not isinstance(d, PartialDate):
        return text(d)
    parts = [f"{d.day:02d}" if d.day else "", MONTHS[d.month - 1] if d.month else "",
             f"{d.year:04d}"]
    return " ".join(p for p in parts if p)


def quantity(q: Quantity | None) -> str:
    if q is None or q.value is None:
        return ""
    unit = UNITS.get(q.unit or "", q.unit or "")
    return f"{text(q.value)} {unit}".strip()


def term(t: CodedTerm | None) -> str:
    """The verbatim, with the coded term when it says something else."""
    if t is None:
        return ""
    verbatim = text(t.verbatim)
    coded = t.pt_term or t.term
    if coded and coded.casefold() != verbatim.casefold():
        return f"{verbatim} ({coded})" if verbatim else coded
    return verbatim or (coded or "")


def _reported(verbatim: object, coding: CodedTerm | None) -> CodedTerm:
    """The reporter's words (E.i.1.1a) with the code chosen for them (E.i.2.1b)."""
    if coding is None:
        return CodedTerm(verbatim=verbatim if isinstance(verbatim, str) else None)
    return replace(coding, verbatim=verbatim if isinstance(verbatim, str) else coding.verbatim)


def _drug_name(d: Drug) -> str:
    name = text(d.name)
    substances = [text(s.name) for s in d.substances if s.name is not None]
    generic = [s for s in substances if s.casefold() not in name.casefold()]
    return name + (f" ({', '.join(generic)})" if generic else "")


def _lines(items: list[str]) -> str:
    return "\n".join(i for i in items if i)


def _abated(drug: Drug, data: CaseVersionData) -> str:
    """Box 20 from G.k.8 and E.i.7 (see the module's docstring)."""
    if drug.action_taken != "1":
        return "NA (drug not withdrawn)" if drug.action_taken is not None else "UNKNOWN"
    linked = [r for r in (data.reaction(link.reaction_id) for link in drug.reactions)
              if r is not None]
    outcomes = {str(r.outcome) for r in linked or data.reactions if r.outcome is not None}
    if outcomes and outcomes <= RECOVERED:
        return "YES"
    if outcomes and outcomes <= NOT_RECOVERED:
        return "NO"
    return "UNKNOWN"


def _reappeared(drug: Drug) -> str:
    """Box 21 from G.k.9.i.4 (1 rechallenge, recurred; 2 rechallenge, did not recur;
    3 rechallenge, outcome unknown; 4 no rechallenge)."""
    answers = {link.recurrence for link in drug.reactions if link.recurrence is not None}
    if "1" in answers:
        return "YES"
    if "2" in answers:
        return "NO"
    if "3" in answers:
        return "UNKNOWN"
    if "4" in answers:
        return "NA (not reintroduced)"
    return ""


def _per_drug(drugs: list[Drug], show: Callable[[Drug], str]) -> str:
    """One line per suspect drug, numbered when there are several."""
    if len(drugs) == 1:
        return show(drugs[0])
    return _lines([f"#{i} {show(d)}" for i, d in enumerate(drugs, start=1) if show(d)])


def cioms1_form(data: CaseVersionData, *, case_number: str, version: int, today: date,
                follow_up: bool) -> Cioms1Form:
    """The CIOMS I form of a case version; ``today`` is the date of this report."""
    p = data.patient
    first_reporter = data.reporters[0] if data.reporters else None
    countries = [r.country for r in data.reactions if r.country]
    onsets = [r.start for r in data.reactions if isinstance(r.start, PartialDate)]
    onset = min(onsets, key=lambda d: d.earliest()) if onsets else None
    reactions = [
        f"{i}. {term(_reported(r.verbatim, r.coding)) or '(no reported term)'}"
        + (f" (MedDRA {r.coding.version or ''} LLT {r.coding.code})".replace("  ", " ")
           if r.coding is not None and r.coding.code else "")
        + (f"; onset {form_date(r.start)}" if r.start else "")
        + (f"; end {form_date(r.end)}" if r.end else "")
        + (f"; outcome {OUTCOMES.get(str(r.outcome), text(r.outcome))}"
           if r.outcome is not None else "")
        for i, r in enumerate(data.reactions, start=1)]
    tests = [f"{text(t.name) or term(t.coding)}: "
             + " ".join(x for x in (t.value_qualifier or "", text(t.value), t.unit or "",
                                    text(t.result_text)) if x)
             + (f" ({form_date(t.date)})" if t.date else "") for t in data.tests]
    describe = _lines([*reactions, *(["Relevant tests / laboratory data:", *tests]
                                     if tests else []),
                       text(data.narrative.narrative)])
    criteria = tuple((label, any(getattr(r.seriousness, key) is True for r in data.reactions))
                     for key, label in CRITERIA)
    suspects = data.suspect_drugs()
    concomitant = [d for d in data.drugs if d.role == "2"]

    def dose(d: Drug) -> str:
        return "; ".join(
            " ".join(x for x in (quantity(ds.dose),
                                 f"every {quantity(ds.interval)}" if ds.interval else "",
                                 text(ds.text)) if x) for ds in d.dosages)

    def route(d: Drug) -> str:
        return "; ".join(dict.fromkeys(text(ds.route) for ds in d.dosages if ds.route))

    def dates(d: Drug) -> str:
        return "; ".join(f"{form_date(ds.start) or '?'} - {form_date(ds.end) or 'continuing'}"
                         for ds in d.dosages if ds.start or ds.end)

    def duration(d: Drug) -> str:
        return "; ".join(quantity(ds.duration) for ds in d.dosages if ds.duration)

    history = [term(h.condition) + (f" (from {form_date(h.start)})" if h.start else "")
               + (", continuing" if h.continuing is True else "")
               + (f", to {form_date(h.end)}" if h.end else "")
               + (f": {text(h.comments)}" if h.comments else "")
               for h in p.medical_history]
    history += [f"Past drug: {text(d.name)}" + (f" ({term(d.reaction)})" if d.reaction.verbatim
                                                 or d.reaction.code else "")
                for d in p.past_drugs]
    if p.medical_history_text:
        history.append(text(p.medical_history_text))
    s = data.sender
    manufacturer = _lines([text(s.organisation), text(s.department),
                           ", ".join(x for x in (text(s.street), text(s.city), text(s.state),
                                                 text(s.postcode), text(s.country)) if x)])
    qualified = any(r.qualification in ("1", "2", "3") for r in data.reporters)
    a = data.admin
    boxes = (
        Box("1", "PATIENT INITIALS (first, last)", text(p.initials)),
        Box("1a", "COUNTRY", text(countries[0] if countries else
                                  first_reporter.country if first_reporter else None)),
        Box("2", "DATE OF BIRTH (day month year)", form_date(p.birth_date)),
        Box("2a", "AGE", quantity(p.age_at_onset)),
        Box("3", "SEX", SEX.get(str(p.sex), text(p.sex))),
        Box("4-6", "REACTION ONSET (day month year)", form_date(onset)),
        Box("7+13", "DESCRIBE REACTION(S) (including relevant tests/lab data)", describe),
        Box("8-12", "CHECK ALL APPROPRIATE TO ADVERSE REACTION",
            ", ".join(label for label, ticked in criteria if ticked), checks=criteria),
        Box("14", "SUSPECT DRUG(S) (include generic name)",
            _per_drug(suspects, _drug_name), suspect_drug=True),
        Box("15", "DAILY DOSE(S)", _per_drug(suspects, dose), suspect_drug=True),
        Box("16", "ROUTE(S) OF ADMINISTRATION", _per_drug(suspects, route), suspect_drug=True),
        Box("17", "INDICATION(S) FOR USE",
            _per_drug(suspects, lambda d: "; ".join(term(i) for i in d.indications)),
            suspect_drug=True),
        Box("18", "THERAPY DATES (from/to)", _per_drug(suspects, dates), suspect_drug=True),
        Box("19", "THERAPY DURATION", _per_drug(suspects, duration), suspect_drug=True),
        Box("20", "DID REACTION ABATE AFTER STOPPING DRUG?",
            _per_drug(suspects, lambda d: _abated(d, data)), suspect_drug=True),
        Box("21", "DID REACTION REAPPEAR AFTER REINTRODUCTION?",
            _per_drug(suspects, _reappeared), suspect_drug=True),
        Box("22", "CONCOMITANT DRUG(S) AND DATES OF ADMINISTRATION (exclude those used to "
                  "treat reaction)",
            _lines([_drug_name(d) + (f" ({dates(d)})" if dates(d) else "")
                    for d in concomitant])),
        Box("23", "OTHER RELEVANT HISTORY (e.g. diagnostics, allergies, pregnancy with last "
                  "month of period, etc.)", _lines(history)),
        Box("24a", "NAME AND ADDRESS OF MANUFACTURER", manufacturer),
        Box("24b", "MFR CONTROL NO.", text(a.worldwide_case_id or a.sender_safety_report_id)),
        Box("24c", "DATE RECEIVED BY MANUFACTURER",
            form_date(a.most_recent_received if follow_up else a.first_received)),
        Box("24d", "REPORT SOURCE", checks=(
            ("STUDY", a.report_type == "2"), ("LITERATURE", bool(data.literature)),
            ("HEALTH PROFESSIONAL", qualified))),
        Box("date", "DATE OF THIS REPORT", form_date(PartialDate.from_date(today))),
        Box("25a", "REPORT TYPE", checks=(("INITIAL", not follow_up),
                                          ("FOLLOWUP", follow_up))),
    )
    return Cioms1Form(case_number=case_number, version=version, boxes=boxes)


# --- the PDF ---------------------------------------------------------------------------------

_PUNCTUATION = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
                              "…": "...", "→": "->", "≥": ">=", "≤": "<=", "•": "-",
                              # Latin letters with no decomposition to a Latin-1 base
                              "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h",
                              "ı": "i", "Œ": "OE", "œ": "oe", "€": "EUR"})


def pdf_text(value: str) -> str:
    """What the PDF's standard fonts can show (Latin-1): punctuation spelled in ASCII,
    accents kept where Latin-1 has the letter, else decomposed; anything else becomes "?"
    (the E2B message keeps the original text; docs/decisions.md)."""
    out = []
    for ch in value.translate(_PUNCTUATION):
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode()
            out.append(base or "?")
    return "".join(out)


_W = 190.0  # printable width of an A4 page (mm)
_LEFT = 10.0
_BOTTOM = 287.0  # the lowest a box may reach before the next page
_LINE = 3.4  # mm per line of a box's value
MORE = "(continued on the continuation page)"


class _Sheet:
    """The PDF being drawn, and the boxes too long for their frame (printed in full on the
    continuation page, as CIOMS I forms are continued)."""

    def __init__(self, form: Cioms1Form) -> None:
        self.pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=10)
        self.pdf.set_title(f"CIOMS I {form.case_number} version {form.version}")
        self.pdf.set_creator("SafetyDesk")
        self.continued: list[Box] = []

    def lines(self, value: str, width: float) -> list[str]:
        self.pdf.set_font("Helvetica", "", 8)
        wrapped = self.pdf.multi_cell(width - 2, _LINE, pdf_text(value), dry_run=True,
                                      output="LINES", align="L") if value else []
        return [str(x) for x in wrapped] if isinstance(wrapped, list) else [value]

    def fit(self, box: Box, width: float, most: int) -> tuple[Box, int]:
        """The box as it fits its frame (at most ``most`` lines), and its lines."""
        if box.checks:
            return box, sum(len(self.lines("[X] " + label, width)) for label, _ in box.checks)
        lines = self.lines(box.value, width)
        if len(lines) <= most:
            return box, len(lines)
        self.continued.append(box)
        return replace(box, value="\n".join([*lines[:most - 1], MORE])), most

    def row(self, boxes: list[tuple[Box, float]], minimum: float, most: int = 8) -> None:
        """One row of boxes side by side, each a frame with its label on top; a row that
        does not fit the page starts the next one."""
        pdf = self.pdf
        fitted = [(self.fit(box, width, most), width) for box, width in boxes]
        height = max(minimum, *(7 + _LINE * n for (_, n), _ in fitted))
        if pdf.get_y() + height > _BOTTOM:
            pdf.add_page()
        y = pdf.get_y()
        x = _LEFT
        for (box, _), width in fitted:
            pdf.rect(x, y, width, height)
            pdf.set_xy(x + 1, y + 0.8)
            pdf.set_font("Helvetica", "B", 6)
            number = "" if box.number == "date" else f"{box.number}. "
            pdf.multi_cell(width - 2, 2.6, pdf_text(number + box.label), align="L")
            pdf.set_font("Helvetica", "", 8)
            for label, ticked in box.checks:
                pdf.set_x(x + 1)
                pdf.multi_cell(width - 2, _LINE, pdf_text(("[X] " if ticked else "[  ] ")
                                                          + label), align="L")
            if box.value and not box.checks:
                pdf.set_x(x + 1)
                pdf.multi_cell(width - 2, _LINE, pdf_text(box.value), align="L")
            x += width
        pdf.set_xy(_LEFT, y + height)

    def heading(self, title: str) -> None:
        pdf = self.pdf
        if pdf.get_y() + 20 > _BOTTOM:
            pdf.add_page()
        pdf.set_font("Helvetica", "B", 8)
        pdf.set_fill_color(225, 225, 225)
        pdf.cell(_W, 5, pdf_text(title), border=1, fill=True, new_x="LMARGIN", new_y="NEXT")

    def continuation(self) -> None:
        if not self.continued:
            return
        pdf = self.pdf
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(_W, 7, "CIOMS FORM - CONTINUATION", new_x="LMARGIN", new_y="NEXT")
        for box in self.continued:
            self.heading(f"{box.number}. {box.label}")
            pdf.set_font("Helvetica", "", 8)
            pdf.multi_cell(_W, _LINE, pdf_text(box.value), align="L",
                           new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)


def render_pdf(form: Cioms1Form) -> bytes:
    """The form as an A4 PDF, boxes framed and numbered as on the CIOMS I; what does not fit
    a box is printed in full on a continuation page."""
    sheet = _Sheet(form)
    pdf = sheet.pdf
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(_W / 2, 7, "CIOMS FORM", new_x="RIGHT", new_y="TOP")
    pdf.set_font("Helvetica", "", 8)
    pdf.cell(_W / 2, 7, pdf_text(f"Case {form.case_number}, version {form.version}"),
             align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(_W, 6, "SUSPECT ADVERSE REACTION REPORT", new_x="LMARGIN", new_y="NEXT")
    b = form.box
    sheet.heading("I. REACTION INFORMATION")
    sheet.row([(b("1"), 38), (b("1a"), 24), (b("2"), 38), (b("2a"), 22), (b("3"), 18),
               (b("4-6"), 50)], 14, most=2)
    sheet.row([(b("7+13"), _W * 0.62), (b("8-12"), _W * 0.38)], 60, most=30)
    sheet.heading("II. SUSPECT DRUG(S) INFORMATION")
    for pair in (("14",), ("15", "16"), ("17", "18"), ("19",), ("20", "21")):
        sheet.row([(b(n), _W / len(pair)) for n in pair], 12)
    sheet.heading("III. CONCOMITANT DRUG(S) AND HISTORY")
    sheet.row([(b("22"), _W)], 14)
    sheet.row([(b("23"), _W)], 14)
    sheet.heading("IV. MANUFACTURER INFORMATION")
    sheet.row([(b("24a"), _W * 0.6), (b("24b"), _W * 0.4)], 16)
    sheet.row([(b("24c"), _W * 0.3), (b("24d"), _W * 0.3), (b("date"), _W * 0.2),
               (b("25a"), _W * 0.2)], 18)
    sheet.continuation()
    return bytes(pdf.output())

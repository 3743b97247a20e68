"""The case page's edit form, as plain data: which fields it offers, and which of them a
submitted form changed.

Each field is named by its path in the case JSON form (the same paths ``PATCH
/api/v1/cases/{id}`` takes), so the form and the API make the same correction and the audit
trail names the same fields. A date is typed in the precision that is known (``2026``,
``2026-10``, ``2026-10-30``); any field that E2B lets carry a null flavour can be given one
instead of a value (ASKU: asked but unknown, NASK: not asked, ...), because "the reporter did
not know" tells a reviewer something an empty field does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from safety.cases.editing import EditError

NULL_FLAVOURS = ("NI", "UNK", "ASKU", "NASK", "MSK", "NA", "OTH")
SEX = (("1", "male"), ("2", "female"))
QUALIFICATION = (("1", "physician"), ("2", "pharmacist"), ("3", "other health professional"),
                 ("4", "lawyer"), ("5", "consumer or other non health professional"))
OUTCOME = (("0", "unknown"), ("1", "recovered/resolved"), ("2", "recovering/resolving"),
           ("3", "not recovered/not resolved"), ("4", "recovered with sequelae"),
           ("5", "fatal"))
ROLE = (("1", "suspect"), ("2", "concomitant"), ("3", "interacting"),
        ("4", "drug not administered"))
ACTION = (("1", "drug withdrawn"), ("2", "dose reduced"), ("3", "dose increased"),
          ("4", "dose not changed"), ("0", "unknown"), ("9", "not applicable"))


@dataclass(frozen=True)
class FormField:
    path: str
    label: str
    kind: str  # text, long, date, number, quantity, choice, flag
    value: Any  # the field's JSON value now
    choices: tuple[tuple[str, str], ...] = ()
    nullable: bool = True  # may carry a null flavour

    @property
    def null_flavour(self) -> str:
        return self.value["nullFlavor"] if isinstance(self.value, dict) and \
            "nullFlavor" in self.value else ""

    @property
    def shown(self) -> str:
        """The value as typed into the input."""
        v = self.value
        if v is None or self.null_flavour:
            return ""
        if self.kind == "quantity":
            v = v.get("value") if isinstance(v, dict) else None
            if v is None:
                return ""
        if self.kind == "flag":
            return "yes" if v is True else "no" if v is False else ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    @property
    def unit(self) -> str:
        return str(self.value.get("unit") or "") if isinstance(self.value, dict) else ""


@dataclass(frozen=True)
class FormSection:
    key: str
    title: str
    fields: list[FormField]


def _f(doc: dict[str, Any], prefix: str, name: str, label: str, kind: str = "text",
       choices: tuple[tuple[str, str], ...] = (), nullable: bool = True) -> FormField:
    value = doc.get(name) if isinstance(doc, dict) else None
    return FormField(f"{prefix}{name}", label, kind, value, choices, nullable)


def sections(doc: dict[str, Any]) -> list[FormSection]:
    """The editable fields of a case (its JSON form), by section."""
    out: list[FormSection] = []
    p = doc.get("patient") or {}
    out.append(FormSection("patient", "Patient", [
        _f(p, "patient.", "initials", "Initials (D.1)"),
        _f(p, "patient.", "investigation_number", "Subject id (D.1.1.4)"),
        _f(p, "patient.", "sex", "Sex (D.5)", "choice", SEX),
        _f(p, "patient.", "birth_date", "Birth date (D.2.1)", "date"),
        _f(p, "patient.", "age_at_onset", "Age at onset (D.2.2)", "quantity", nullable=False),
        _f(p, "patient.", "weight_kg", "Weight kg (D.3)", "number"),
        _f(p, "patient.", "height_cm", "Height cm (D.4)", "number"),
        _f(p, "patient.", "medical_history_text", "Medical history text (D.7.2)", "long"),
    ]))
    for i, r in enumerate(doc.get("reporters") or []):
        pre = f"reporters[{i}]."
        out.append(FormSection(f"reporter-{i}", f"Reporter {i + 1}", [
            _f(r, pre, "given_name", "Given name (C.2.r.1.2)"),
            _f(r, pre, "family_name", "Family name (C.2.r.1.4)"),
            _f(r, pre, "organisation", "Organisation (C.2.r.2.1)"),
            _f(r, pre, "country", "Country (C.2.r.3)"),
            _f(r, pre, "qualification", "Qualification (C.2.r.4)", "choice", QUALIFICATION),
            _f(r, pre, "telephone", "Telephone (C.2.r.2.7)"),
        ]))
    for i, r in enumerate(doc.get("reactions") or []):
        pre = f"reactions[{i}]."
        out.append(FormSection(f"event-{i}", f"Event {i + 1}", [
            _f(r, pre, "verbatim", "Reported term (E.i.1.1a)"),
            _f(r, pre, "start", "Onset (E.i.4)", "date"),
            _f(r, pre, "end", "End (E.i.5)", "date"),
            _f(r, pre, "outcome", "Outcome (E.i.7)", "choice", OUTCOME),
            _f(r, pre, "country", "Country (E.i.9)"),
        ]))
    for i, d in enumerate(doc.get("drugs") or []):
        pre = f"drugs[{i}]."
        fields = [
            _f(d, pre, "name", "Product name (G.k.2.2)"),
            _f(d, pre, "role", "Role (G.k.1)", "choice", ROLE, nullable=False),
            _f(d, pre, "action_taken", "Action taken (G.k.8)", "choice", ACTION),
        ]
        for j, ds in enumerate(d.get("dosages") or [{}]):
            dpre = f"{pre}dosages[{j}]."
            n = f" {j + 1}" if len(d.get("dosages") or []) > 1 else ""
            fields += [
                _f(ds, dpre, "dose", f"Dose{n} (G.k.4.r.1)", "quantity", nullable=False),
                _f(ds, dpre, "route", f"Route{n} (G.k.4.r.10.1)"),
                _f(ds, dpre, "start", f"Start{n} (G.k.4.r.4)", "date"),
                _f(ds, dpre, "end", f"End{n} (G.k.4.r.5)", "date"),
                _f(ds, dpre, "batch_lot", f"Batch/lot{n} (G.k.4.r.7)"),
            ]
        out.append(FormSection(f"drug-{i}", f"Drug {i + 1}", fields))
    tests = doc.get("tests") or []
    for i, t in enumerate([*tests, {}]):
        pre = f"tests[{i}]."
        title = f"Test {i + 1}" if i < len(tests) else "Add a test"
        out.append(FormSection(f"test-{i}", title, [
            _f(t, pre, "name", "Test (F.r.2.1)"),
            _f(t, pre, "date", "Date (F.r.1)", "date"),
            _f(t, pre, "value", "Result (F.r.3.2)", "number"),
            _f(t, pre, "unit", "Unit (F.r.3.3)", nullable=False),
            _f(t, pre, "result_text", "Result text (F.r.3.4)"),
        ]))
    history = p.get("medical_history") or []
    for i, h in enumerate([*history, {}]):
        pre = f"patient.medical_history[{i}]."
        title = f"History {i + 1}" if i < len(history) else "Add medical history"
        cond = h.get("condition") or {}
        out.append(FormSection(f"history-{i}", title, [
            FormField(f"{pre}condition.verbatim", "Condition (D.7.1.r.1)", "text",
                      cond.get("verbatim")),
            _f(h, pre, "start", "Start (D.7.1.r.2)", "date"),
            _f(h, pre, "continuing", "Continuing (D.7.1.r.3)", "flag"),
            _f(h, pre, "end", "End (D.7.1.r.4)", "date"),
            _f(h, pre, "comments", "Comments (D.7.1.r.5)"),
        ]))
    return out


def _number(path: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise EditError(path, f"{raw!r} is not a number") from None


def _submitted(f: FormField, form: Mapping[str, str]) -> Any:
    nf = (form.get(f"nf:{f.path}") or "").strip()
    if nf:
        if not f.nullable or nf not in NULL_FLAVOURS:
            raise EditError(f.path, f"null flavour {nf!r} is not allowed here")
        return {"nullFlavor": nf}
    raw = (form.get(f"v:{f.path}") or "").strip()
    if not raw:
        return None
    if f.kind == "number":
        return _number(f.path, raw)
    if f.kind == "quantity":
        unit = (form.get(f"u:{f.path}") or "").strip()
        return {"value": _number(f.path, raw), **({"unit": unit} if unit else {})}
    if f.kind == "flag":
        return {"yes": True, "no": False}.get(raw)
    return raw


def changes_from_form(doc: dict[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """The corrections a submitted edit form asks for: the fields whose submitted value
    differs from the case's (an added list item as one new item)."""
    changes: dict[str, Any] = {}
    for section in sections(doc):
        added: dict[str, Any] = {}
        item_path = None
        for f in section.fields:
            if f"v:{f.path}" not in form and f"nf:{f.path}" not in form:
                continue  # not on this form
            new = _submitted(f, form)
            if section.title.startswith("Add "):
                item_path = f.path.rsplit("].", 1)[0] + "]"
                if new is not None:
                    _put(added, f.path.rsplit("].", 1)[1], new)
                continue
            if new != f.value and not (new is None and f.value in ("", [], {})):
                changes[f.path] = new
        if item_path and added:
            changes[item_path] = added
    return changes


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for name in parents:
        doc = doc.setdefault(name, {})
    doc[last] = value

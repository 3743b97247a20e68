"""What changed between two versions of a case, in the words a reviewer uses.

Both versions are the stored case JSON (``safety.cases.codec``). They are flattened to
``path → value`` and compared; each path gets a readable label ("Event 1 (febrile
neutropenia) › Outcome"). List items are compared by position, and their label carries the
item's own verbatim or name so a reader can see which item a line is about. Internal ids are
left out: they change with every form and mean nothing to a reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SKIP_KEYS = frozenset({"id", "reaction_id"})

SECTION_LABELS: dict[str, str] = {
    "admin": "Administrative", "reporters": "Reporter", "sender": "Sender",
    "literature": "Literature", "study": "Study", "patient": "Patient",
    "reactions": "Event", "tests": "Test", "drugs": "Drug", "narrative": "Narrative",
    "awareness_date": "Site awareness date", "code_list_versions": "Code list versions",
}

FIELD_LABELS: dict[str, str] = {
    "report_type": "Report type", "first_received": "First received",
    "most_recent_received": "Most recent information", "worldwide_case_id": "Worldwide case id",
    "sender_safety_report_id": "Sender's report id", "first_sender": "First sender",
    "given_name": "Given name", "family_name": "Family name", "qualification": "Qualification",
    "primary_for_regulatory": "Primary source for regulatory purposes", "country": "Country",
    "name": "Name", "sponsor_study_number": "Protocol number", "study_type": "Study type",
    "site_id": "Site number", "initials": "Initials", "investigation_number": "Subject id",
    "birth_date": "Birth date", "sex": "Sex", "age_at_onset": "Age at onset",
    "weight_kg": "Weight (kg)", "height_cm": "Height (cm)", "verbatim": "Reported term",
    "seriousness": "Seriousness", "death": "Death", "life_threatening": "Life-threatening",
    "hospitalisation": "Hospitalisation", "disability": "Disability",
    "congenital_anomaly": "Congenital anomaly",
    "other_medically_important": "Other medically important",
    "required_intervention": "Required intervention", "start": "Start", "end": "End",
    "outcome": "Outcome", "ctcae_grade": "CTCAE grade", "role": "Role",
    "investigational": "Investigational", "dosages": "Dosage", "dose": "Dose",
    "value": "Value", "unit": "Unit", "route": "Route", "indications": "Indication",
    "action_taken": "Action taken", "reactions": "Event link", "assessments": "Assessment",
    "source": "Source", "method": "Method", "result": "Result", "narrative": "Narrative",
    "coding": "Coding", "code": "Code", "term": "Term", "medical_history": "Medical history",
    "condition": "Condition", "batch_lot": "Batch/lot", "date": "Date",
    "result_text": "Result text", "reported_causes": "Reported cause",
    "autopsy_done": "Autopsy done",
}

CODE_VALUES: dict[str, dict[str, str]] = {
    # E2B(R3) code lists as used by the case model (safety.cases.model comments).
    "sex": {"1": "male", "2": "female"},
    "outcome": {"0": "unknown", "1": "recovered", "2": "recovering", "3": "not recovered",
                "4": "recovered with sequelae", "5": "fatal"},
    "role": {"1": "suspect", "2": "concomitant", "3": "interacting", "4": "not administered"},
    "action_taken": {"0": "unknown", "1": "withdrawn", "2": "dose reduced",
                     "3": "dose increased", "4": "dose not changed", "9": "not applicable"},
    "qualification": {"1": "physician", "2": "pharmacist", "3": "other health professional",
                      "4": "lawyer", "5": "consumer"},
    "report_type": {"1": "spontaneous", "2": "report from study", "3": "other",
                    "4": "not available to sender"},
}


@dataclass(frozen=True)
class FieldChange:
    path: str
    label: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


def display(key: str, value: Any) -> str:
    """A stored value as a reviewer reads it: code values named, null flavours spelled."""
    if isinstance(value, dict) and set(value) == {"nullFlavor"}:
        return f"(null flavour {value['nullFlavor']})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    names = CODE_VALUES.get(key)
    if names and text in names:
        return f"{names[text]} ({text})"
    return text


def _item_hint(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    for key in ("verbatim", "name", "family_name", "condition"):
        v = item.get(key)
        if isinstance(v, str):
            return v
        verbatim = v.get("verbatim") if isinstance(v, dict) else None
        if isinstance(verbatim, str):
            return verbatim
    return None


def flatten(data: Any) -> dict[str, tuple[str, str, str]]:
    """``path → (label, last key, display value)`` for every scalar in the case JSON."""
    out: dict[str, tuple[str, str, str]] = {}

    def walk(node: Any, path: str, label: str, key: str) -> None:
        if isinstance(node, dict) and not (set(node) == {"nullFlavor"}):
            members: dict[str, Any] = node  # a JSON object: its keys are strings
            for k, v in members.items():
                if k in SKIP_KEYS:
                    continue
                name = SECTION_LABELS.get(k, k) if not path else FIELD_LABELS.get(k, k)
                walk(v, f"{path}.{k}" if path else k, f"{label} › {name}" if label else name, k)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                hint = _item_hint(item)
                item_label = f"{label} {i + 1}" + (f" ({hint})" if hint else "")
                walk(item, f"{path}[{i}]", item_label, key)
        else:
            out[path] = (label, key, display(key, node))

    walk(data, "", "", "")
    return out


def changes(before: Any, after: Any) -> list[FieldChange]:
    """Every field added, removed or changed from ``before`` to ``after``, in reading order."""
    a, b = flatten(before or {}), flatten(after or {})
    result: list[FieldChange] = []
    for path in list(b) + [p for p in a if p not in b]:
        old, new = a.get(path), b.get(path)
        old_v = old[2] if old else None
        new_v = new[2] if new else None
        if old_v != new_v:
            label = new[0] if new else old[0] if old else path
            result.append(FieldChange(path, label, old_v, new_v))
    return result

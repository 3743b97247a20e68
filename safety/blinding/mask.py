"""Blinded and unblinded views of one case, as functions over the case data any output uses.

Every output (case page, API answer, E2B, CIOMS I, line listing) is built from a
``CaseVersionData`` or from a JSON-like view model of it. For a blinded audience the output is
built from :func:`blind_case` (or its view model passed through :func:`blind_json`) and its
rendered text checked with :func:`leaks` before it leaves; for an audience that may be
unblinded, from :func:`unblind_case` once the subject's assignment has been revealed.

What reveals the arm (ICH E2A III.C.2; CT-3 7.6): the names of the arms' products (and their
substances and aliases), the arm labels, the strengths, the kit numbers, and the word
"placebo". Structured values of a study drug (name, product ids, substances, doses, batch/kit,
dosage text) become "blinded study drug" or nothing; a free-text sentence naming any of them
is withheld whole, because a sentence such as "the kit contained 20 mg" reveals the arm
through what it says around the name.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from safety.blinding.randomisation import PLACEBO, Assignment
from safety.cases.model import CaseVersionData, Dosage, Drug

BLINDED_DRUG = "blinded study drug"
WITHHELD = "[sentence withheld: it would break the blind]"

# Free-text fields where a revealing sentence is withheld and the rest kept; any other string
# that reveals the arm is replaced whole.
PROSE_FIELDS = frozenset({
    "narrative", "reporter_comments", "sender_comments", "text", "additional_info",
    "medical_history_text", "result_text", "comments", "translation", "verbatim",
    "nullification_reason", "explanation", "basis", "reason", "source",
})
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


@dataclass(frozen=True, slots=True)
class ArmSecrets:
    """The values that would reveal a blinded study's arms, to any of its subjects."""

    terms: frozenset[str]

    @classmethod
    def of(cls, assignments: Iterable[Assignment],
           product_names: Mapping[str, Iterable[str]]) -> ArmSecrets:
        """From the study's assignments and, per product id, its names, aliases, substances."""
        terms = {PLACEBO}
        for a in assignments:
            terms.update(t for t in (a.arm, a.strength, *a.kits) if len(t.strip()) >= 3)
            if a.treatment != PLACEBO:  # the registry id itself is internal: not shown
                terms.update(n for n in product_names.get(a.treatment, ()) if len(n) >= 3)
        return cls(frozenset(t.strip() for t in terms if t.strip()))

    def pattern(self) -> re.Pattern[str]:
        parts = sorted((r"\s*".join(map(re.escape, t.split())) for t in self.terms),
                       key=len, reverse=True)
        return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def leaks(text: str, secrets: ArmSecrets) -> list[str]:
    """The arm-revealing values found in a rendered output (empty: it keeps the blind)."""
    return sorted({m.group(0) for m in secrets.pattern().finditer(text)})


def redact_text(text: str, secrets: ArmSecrets, prose: bool = True) -> str:
    """Withhold each sentence naming an arm-revealing value (prose) or the whole value."""
    pattern = secrets.pattern()
    if not pattern.search(text):
        return text
    if not prose:
        return BLINDED_DRUG
    kept = [s if not pattern.search(s) else WITHHELD for s in _SENTENCE.split(text) if s]
    return " ".join(kept)


def is_study_drug(drug: Drug, secrets: ArmSecrets) -> bool:
    """A suspect the subject got in the trial: investigational, or named by an arm's value."""
    if drug.investigational is True:
        return True
    pattern = secrets.pattern()
    names = [drug.name, drug.mpid, drug.phpid, drug.coding.term if drug.coding else None,
             *(s.name for s in drug.substances)]
    return any(isinstance(n, str) and pattern.search(n) for n in names)


def blind_case(case: CaseVersionData, secrets: ArmSecrets) -> CaseVersionData:
    """The case as a blinded audience may read it (a copy; the case is not changed)."""
    out = copy.deepcopy(case)
    for drug in out.drugs:
        if is_study_drug(drug, secrets):
            _blind_drug(drug)
    _walk(out, secrets)
    return out


def _blind_drug(drug: Drug) -> None:
    drug.name = BLINDED_DRUG
    drug.mpid = drug.phpid = drug.mpid_version = drug.mpid_system = None
    drug.coding = None
    drug.substances = []
    drug.authorisation_number = drug.authorisation_holder = None
    drug.cumulative_dose = None
    drug.dosages = [Dosage(start=d.start, end=d.end, duration=d.duration, route=d.route,
                           route_termid=d.route_termid,
                           route_termid_version=d.route_termid_version,
                           route_termid_system=d.route_termid_system) for d in drug.dosages]


def _walk(obj: Any, secrets: ArmSecrets) -> None:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, str) and type(value) is str:
            new = redact_text(value, secrets, prose=f.name in PROSE_FIELDS)
            if new != value:
                setattr(obj, f.name, new)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            _walk(value, secrets)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item) and not isinstance(item, type):
                    _walk(item, secrets)
                elif isinstance(item, str) and type(item) is str:
                    value[i] = redact_text(item, secrets, prose=False)


def blind_json(data: Any, secrets: ArmSecrets, key: str = "") -> Any:
    """A view model (dicts, lists, strings) with every arm-revealing string blinded; for the
    outputs built from a view model rather than from the case (CIOMS I, line listings)."""
    if isinstance(data, dict):
        return {k: blind_json(v, secrets, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [blind_json(v, secrets, key) for v in data]
    if isinstance(data, str):
        return redact_text(data, secrets, prose=key in PROSE_FIELDS)
    mapper = getattr(data, "__mapper__", None)
    if mapper is not None:  # a stored row: a plain copy, masked (the row itself is untouched)
        keys = [a.key for a in mapper.column_attrs]
        return SimpleNamespace(**{k: blind_json(getattr(data, k), secrets, k) for k in keys})
    return data


def unblind_case(case: CaseVersionData, assignment: Assignment, product_name: str,
                 secrets: ArmSecrets) -> CaseVersionData:
    """The case as a regulator reads it after the reveal: each study drug is what the subject
    actually received (ICH E2A III.C.2: report the unblinded product)."""
    out = copy.deepcopy(case)
    for drug in out.drugs:
        if drug.role in ("1", "3") and is_study_drug(drug, secrets):
            drug.name = product_name if not assignment.placebo else "placebo"
            if assignment.kits:
                for d in drug.dosages:
                    if not d.batch_lot:
                        d.batch_lot = ";".join(assignment.kits)
    return out

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
import functools
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


# A label shorter than this is matched with care: "A", "B", "7" or "in" are ordinary words and
# numbers, so they reveal the arm only where the text calls them an arm, group, cohort,
# treatment or kit ("Arm A", "kit 7", "randomised to B"), or as a structured value all by itself
# (an arm or kit field holding "A"). A short label that mixes letters and digits ("A1", "2B")
# is no ordinary word and is matched as a whole token anywhere.
SHORT = 3
_CONTEXT = (r"(?i:\b(?:arms?|groups?|cohorts?|treatments?|kits?|randomi[sz]ed\s+to"
            r"|allocated\s+to|assigned\s+to)\b(?:\s+(?:no\.|no|numbers?)(?!\w))?)"
            r"\s*[:#-]?\s*")


def _distinctive(label: str) -> bool:
    """A short label no ordinary word or number could be (letters and digits mixed)."""
    return any(c.isalpha() for c in label) and any(c.isdigit() for c in label)


@dataclass(frozen=True, slots=True)
class ArmSecrets:
    """The values that would reveal a blinded study's arms, to any of its subjects: ``terms``
    (three characters or more, matched whole-word, any case) and ``short`` labels (arm labels,
    kit numbers under three characters, matched as :data:`SHORT` explains)."""

    terms: frozenset[str]
    short: frozenset[str] = frozenset()

    @classmethod
    def of(cls, assignments: Iterable[Assignment],
           product_names: Mapping[str, Iterable[str]]) -> ArmSecrets:
        """From the study's assignments and, per product id, its names, aliases, substances."""
        terms = {PLACEBO}
        short: set[str] = set()
        for a in assignments:
            for t in (a.arm, a.strength, *a.kits):
                (terms if len(t.strip()) >= SHORT else short).add(t.strip())
            if a.treatment != PLACEBO:  # the registry id itself is internal: not shown
                terms.update(n for n in product_names.get(a.treatment, ()) if len(n) >= SHORT)
        return cls(frozenset(t for t in terms if t), frozenset(t for t in short if t))

    def pattern(self) -> re.Pattern[str]:
        return _compiled(self)

    def _build(self) -> re.Pattern[str]:
        parts = sorted((r"\s*".join(map(re.escape, t.split())) for t in self.terms),
                       key=len, reverse=True)
        alternatives = ["(?i:(?<!\\w)(?:" + "|".join(parts) + ")(?!\\w))"] if parts else []
        for label in sorted(self.short, key=len, reverse=True):
            if _distinctive(label):
                alternatives.append(f"(?i:(?<!\\w){re.escape(label)}(?!\\w))")
            else:  # letters case-sensitive: "Arm A" reveals, "arm a day" does not
                alternatives.append(f"(?<!\\w){_CONTEXT}{re.escape(label)}(?!\\w)")
        return re.compile("|".join(alternatives) or r"(?!x)x")

    def is_label(self, value: str) -> bool:
        """A structured value that is, all by itself, a short arm or kit label."""
        return value.strip() in self.short


@functools.lru_cache(maxsize=64)
def _compiled(secrets: ArmSecrets) -> re.Pattern[str]:
    """One study's pattern, compiled once (every string of every output is matched)."""
    return secrets._build()


# Structured fields that hold an arm or a kit label: there a short label all by itself reveals
# (elsewhere "A" or "1" is an initial or a code: only the context patterns apply).
LABEL_FIELDS = frozenset({"arm", "kit", "kits", "batch_lot", "batch", "kit_number"})


def leaks(text: str, secrets: ArmSecrets) -> list[str]:
    """The arm-revealing values found in a rendered output (empty: it keeps the blind)."""
    return sorted({m.group(0) for m in secrets.pattern().finditer(text)})


def redact_text(text: str, secrets: ArmSecrets, prose: bool = True, key: str = "") -> str:
    """Withhold each sentence naming an arm-revealing value (prose) or the whole value (a
    structured value; in an arm or kit field ``key``, also a short label all by itself)."""
    pattern = secrets.pattern()
    if not prose and key in LABEL_FIELDS and secrets.is_label(text):
        return BLINDED_DRUG
    if not pattern.search(text):
        return text
    if not prose:
        return BLINDED_DRUG
    # Matched over the whole text, then each sentence a match touches is withheld: a value
    # the sentence splitter would cut ("Kit no. A") is still caught.
    hits = [m.span() for m in pattern.finditer(text)]
    kept, start = [], 0
    for sep in [*_SENTENCE.finditer(text), None]:
        end = sep.start() if sep is not None else len(text)
        if end > start:
            touched = any(a < end and b > start for a, b in hits)
            kept.append(WITHHELD if touched else text[start:end])
        start = sep.end() if sep is not None else len(text)
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
            new = redact_text(value, secrets, prose=f.name in PROSE_FIELDS, key=f.name)
            if new != value:
                setattr(obj, f.name, new)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            _walk(value, secrets)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item) and not isinstance(item, type):
                    _walk(item, secrets)
                elif isinstance(item, str) and type(item) is str:
                    value[i] = redact_text(item, secrets, prose=False, key=f.name)


def blind_json(data: Any, secrets: ArmSecrets, key: str = "") -> Any:
    """A view model (dicts, lists, strings) with every arm-revealing string blinded; for the
    outputs built from a view model rather than from the case (CIOMS I, line listings)."""
    if isinstance(data, dict):
        return {k: blind_json(v, secrets, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [blind_json(v, secrets, key) for v in data]
    if isinstance(data, str):
        return redact_text(data, secrets, prose=key in PROSE_FIELDS, key=key)
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

"""The randomisation list as an IWRS/IXRS exports it: one row per subject (or per kit).

Columns (header names case-insensitive; the usual IWRS spellings accepted):
``subject`` (subject/randomisation number), ``arm`` (the arm's label), ``treatment`` (the
registry product id the arm gives, or ``placebo``), ``strength`` (optional, e.g. ``10 mg``),
``kit`` (kit numbers, ``;``-separated). Several rows for one subject are merged (kits
dispensed at later visits); a subject in two different arms is an error, as is a row missing
a required value: the whole file is refused, naming the row and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

PLACEBO = "placebo"

_ALIASES = {
    "subject": ("subject", "subject_id", "subject number", "subjid", "randomisation number",
                "randomization number", "rand_no"),
    "arm": ("arm", "treatment arm", "arm_code", "arm code"),
    "treatment": ("treatment", "product", "product_id", "treatment code"),
    "strength": ("strength", "dose", "dose strength"),
    "kit": ("kit", "kits", "kit number", "kit numbers", "kit_no", "kit_number"),
}
_REQUIRED = ("subject", "arm", "treatment")


class RandomisationError(ValueError):
    """The file cannot be imported; the message names the row and the column."""


@dataclass(frozen=True, slots=True)
class Assignment:
    subject: str
    arm: str
    treatment: str  # a registry product id or "placebo"
    strength: str = ""
    kits: tuple[str, ...] = ()

    @property
    def placebo(self) -> bool:
        return self.treatment == PLACEBO


def parse_randomisation(text: str, products: frozenset[str]) -> list[Assignment]:
    """Assignments from CSV text; ``products`` are the registry ids a treatment may name."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = _columns(reader.fieldnames or [])
    found: dict[str, Assignment] = {}
    for n, row in enumerate(reader, start=2):
        values = {k: (row.get(col) or "").strip() for k, col in columns.items()}
        for k in _REQUIRED:
            if not values.get(k):
                raise RandomisationError(f"row {n}: {k}: required")
        treatment = values["treatment"]
        if treatment.casefold() == PLACEBO:
            treatment = PLACEBO
        elif treatment not in products:
            raise RandomisationError(f"row {n}: treatment: {treatment!r} is neither 'placebo' "
                                     "nor a product of the study")
        kits = tuple(k.strip() for k in values.get("kit", "").split(";") if k.strip())
        a = Assignment(values["subject"], values["arm"], treatment, values.get("strength", ""),
                       kits)
        old = found.get(a.subject)
        if old is not None:
            if (old.arm, old.treatment) != (a.arm, a.treatment):
                raise RandomisationError(f"row {n}: subject {a.subject} is already in arm "
                                         f"{old.arm!r}")
            a = Assignment(a.subject, a.arm, a.treatment, a.strength or old.strength,
                           old.kits + tuple(k for k in kits if k not in old.kits))
        found[a.subject] = a
    if not found:
        raise RandomisationError("file: no assignments")
    return list(found.values())


def _columns(fieldnames: Sequence[str]) -> dict[str, str]:
    by_norm = {" ".join(f.casefold().replace("_", " ").split()): f for f in fieldnames if f}
    columns = {}
    for key, names in _ALIASES.items():
        for name in names:
            norm = " ".join(name.replace("_", " ").split())
            if norm in by_norm:
                columns[key] = by_norm[norm]
                break
    for key in _REQUIRED:
        if key not in columns:
            raise RandomisationError(f"header: {key}: no column (have {', '.join(fieldnames)})")
    return columns

"""Loader for PT-keyed medical concept lists such as the EMA IME and DME lists.

The EMA publishes both as spreadsheets of MedDRA PTs; the licensee exports them to CSV. The
loader needs a column holding the 8-digit PT code (``pt_code``, ``PT Code`` or ``PT code``);
other columns are ignored. The list name comes from the file name (``ime.csv`` -> ``IME``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from safety.coding.terminology import Terminology, TerminologyError

CODE_COLUMNS = ("pt_code", "PT Code", "PT code", "PT_CODE", "pt code")


def is_pt_list(path: Path) -> bool:
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    return any(c in header for c in CODE_COLUMNS)


def read_pt_list(path: Path) -> set[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        column = next((c for c in CODE_COLUMNS if c in (reader.fieldnames or [])), None)
        if column is None:
            raise TerminologyError(f"{path.name}: no PT code column ({', '.join(CODE_COLUMNS)})")
        codes: set[str] = set()
        for number, row in enumerate(reader, start=2):
            code = (row[column] or "").strip()
            if len(code) != 8 or not code.isdigit():
                raise TerminologyError(f"{path.name} line {number}: {column} {code!r} not 8 digits")
            codes.add(code)
    return codes


def attach_list(terms: Terminology, path: Path, name: str | None = None) -> list[str]:
    """Add the list to ``terms``; returns codes that are not PTs of that release."""
    list_name = name or path.stem.upper()
    codes = read_pt_list(path)
    terms.memberships[list_name] = codes
    return sorted(c for c in codes if terms.get("PT", c) is None)

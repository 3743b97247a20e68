"""Which loader a path needs, decided by what the path contains."""

from __future__ import annotations

from pathlib import Path

from safety.coding.drug_columns import is_column_mapped, load_column_mapped
from safety.coding.meddra_ascii import load_meddra_ascii, medascii_dir
from safety.coding.open_dictionary import is_open_dictionary, load_open_dictionary
from safety.coding.terminology import Terminology, TerminologyError


def detect(path: Path) -> str:
    """``meddra``, ``columns``, ``open`` or ``pt_list``; raises if nothing fits."""
    if path.is_file():
        from safety.coding.medical_lists import is_pt_list

        if is_pt_list(path):
            return "pt_list"
        raise TerminologyError(f"{path}: a file must be a CSV with a PT code column")
    if medascii_dir(path) is not None:
        return "meddra"
    if is_column_mapped(path):
        return "columns"
    if is_open_dictionary(path):
        return "open"
    raise TerminologyError(
        f"{path}: not a MedAscii folder, a folder with columns.json, or an open dictionary"
    )


def load_path(path: Path) -> list[Terminology]:
    kind = detect(path)
    if kind == "meddra":
        return [load_meddra_ascii(path)]
    if kind == "columns":
        return [load_column_mapped(path)]
    if kind == "open":
        return list(load_open_dictionary(path))
    raise TerminologyError(f"{path}: a PT list is attached to a release, not coded against")

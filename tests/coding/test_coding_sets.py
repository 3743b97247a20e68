"""The lay evaluation sets are well formed: every expected code (and every accepted
alternative) is a code of the open dictionary with its exact term, no verbatim is there twice,
and no text for a person is also an event row. Integrity only: nothing here scores a set."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def _evaluate_coding():
    spec = importlib.util.spec_from_file_location("evaluate_coding",
                                                  ROOT / "scripts" / "evaluate_coding.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("evaluate_coding", module)
    spec.loader.exec_module(module)
    return module


def _terms() -> dict[str, str]:
    with (ROOT / "dictionaries" / "events.csv").open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["term"] for row in csv.DictReader(fh)}


@pytest.mark.parametrize("suffix", ["b", "c", "d", "e"])
def test_a_lay_set_is_well_formed(suffix):
    folder = DATA / f"coding_lay_{suffix}"
    terms = _terms()
    events = [line.split("\t") for line in
              (folder / f"lay_events_{suffix}.txt").read_text(encoding="utf-8").splitlines()]
    assert len(events) >= 600
    seen: set[str] = set()
    for row in events:
        assert len(row) == 3, row
        verbatim, code, term = row
        assert verbatim == verbatim.strip() and verbatim, row
        assert terms.get(code) == term, row
        assert verbatim.lower() not in seen, row
        seen.add(verbatim.lower())
    ambiguous = [t.strip().lower() for t in (folder / f"lay_ambiguous_{suffix}.txt")
                 .read_text(encoding="utf-8").splitlines() if t.strip()]
    assert ambiguous and not set(ambiguous) & seen
    rows = _evaluate_coding().read_lay_folder(folder, suffix)
    assert len(rows) == len(events) + len(ambiguous)
    for r in rows:
        for code in filter(None, r.expected.split("|")):
            assert code in terms, r
    assert any(not r.expected for r in rows)  # texts for a person are scored as such

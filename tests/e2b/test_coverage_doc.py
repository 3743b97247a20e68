"""docs/e2b-coverage.md is generated from the code and the tables (issue 14) and must be
current: every element of the ICH and FDA tables round-trips (property, examples) or is
justified, none is lost on re-export."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from factories.e2b import DATA

from safety.e2b import coverage

DOC = Path(__file__).resolve().parents[2] / "docs" / "e2b-coverage.md"


def test_the_coverage_table_is_current() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        coverage.main([str(p) for p in sorted(DATA.glob("*.xml"))])
    assert out.getvalue() == DOC.read_text("utf-8"), (
        "regenerate: python -m safety.e2b.coverage tests/e2b/data/*.xml > docs/e2b-coverage.md")
    assert coverage.LOST not in out.getvalue()
    assert coverage.UNCOVERED not in out.getvalue()
    assert "(100 %)" in out.getvalue()

"""Terminologies: the tiny MedDRA release (MedAscii files) and the other dictionaries under
tests/coding/fixtures, and copies of that release as a later one that retires or moves terms."""

from __future__ import annotations

import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "coding" / "fixtures"
MEDASCII = FIXTURES / "MedAscii"  # MedDRA 99.0, English

# llt.asc fields: code $ name $ PT code $ ... $ currency (Y/N) $ ...
_LLT_PT, _LLT_CURRENT = 2, 9


def medascii_copy(tmp_path: Path) -> Path:
    """A copy of the fixture release, to be edited."""
    target = tmp_path / "MedAscii"
    shutil.copytree(MEDASCII, target)
    return target


def later_release(tmp_path: Path, version: str = "99.1", *, retire: tuple[str, ...] = (),
                  move: dict[str, str] | None = None) -> Path:
    """The fixture release as ``version``: the LLTs in ``retire`` no longer current, each LLT
    in ``move`` under the PT given."""
    folder = medascii_copy(tmp_path)
    lines = []
    for line in (folder / "llt.asc").read_text().splitlines(keepends=True):
        fields = line.split("$")
        if fields[0] in retire:
            fields[_LLT_CURRENT] = "N"
        if move and fields[0] in move:
            fields[_LLT_PT] = move[fields[0]]
        lines.append("$".join(fields))
    (folder / "llt.asc").write_text("".join(lines))
    (folder / "meddra_release.asc").write_text(f"{version}$English$$\n")
    return folder

"""Build the lay-language and drug-verbatim evaluation sets from their hand-written sources.

Usage: ``python scripts/build_coding_sets.py`` (writes ``tests/data/coding_lay_set.csv`` and
``tests/data/coding_drug_set.csv`` from ``tests/data/coding_lay/*.txt``).

The sources name the expected concept by its dictionary term (events) or FDA display name
(drugs), so a person can review them; this script only resolves names to codes and fails on a
name the bundled dictionary does not have. Nothing here looks at what the coder answers.

Split: a row belongs to the *locked* half when the first byte of sha256(kind + verbatim) is
odd, else to the *dev* half. The rule depends on the text alone, so adding rows never moves
existing ones between halves. The locked half is never used to choose rules, vocabulary or
thresholds (docs/coding.md, "Evaluation").
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tests/data/coding_lay"
DICT = ROOT / "dictionaries"

TAGS = {"m": "misspelling", "s": "slang", "n": "cannot_form", "t": "time_words",
        "i": "intensifier", "b": "body_part"}
FIELDS = ["verbatim", "kind", "expected_code", "expected_term", "category", "half"]


def half_of(kind: str, verbatim: str) -> str:
    digest = hashlib.sha256(f"{kind}\x00{verbatim}".encode()).digest()
    return "locked" if digest[0] % 2 else "dev"


def split_tags(text: str, default: str) -> tuple[str, str]:
    """``"m: n: cant pee"`` -> (``"cant pee"``, ``"misspelling"``): the first tag names it."""
    category = ""
    while len(text) > 2 and text[1] == ":" and text[0] in TAGS:
        category = category or TAGS[text[0]]
        text = text[2:].strip()
    return text, category or default


def _lines(path: Path) -> list[str]:
    return [
        line.strip() for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def build_events() -> list[dict[str, str]]:
    with (DICT / "events.csv").open(encoding="utf-8", newline="") as fh:
        by_term = {r["term"].lower(): r for r in csv.DictReader(fh)}
    rows: list[dict[str, str]] = []
    for line in _lines(SRC / "lay_events.txt"):
        names, _, verbatims = line.partition("|")
        codes, terms = [], []
        for name in names.split(" or "):
            concept = by_term.get(name.strip().lower())
            if concept is None:
                raise SystemExit(f"lay_events.txt: {name.strip()!r} is not a dictionary term")
            codes.append(concept["code"])
            terms.append(concept["term"])
        for raw in verbatims.split(";"):
            if not raw.strip():
                continue
            verbatim, category = split_tags(raw.strip(), "everyday")
            rows.append({"verbatim": verbatim, "kind": "event", "expected_code": "|".join(codes),
                         "expected_term": "|".join(terms), "category": category})
    for verbatim in _lines(SRC / "lay_ambiguous.txt"):
        rows.append({"verbatim": verbatim, "kind": "event", "expected_code": "",
                     "expected_term": "", "category": "ambiguous"})
    return _finish(rows)


def build_drugs() -> list[dict[str, str]]:
    with (DICT / "drugs.csv").open(encoding="utf-8", newline="") as fh:
        by_name = {r["name"].upper(): r for r in csv.DictReader(fh)}
    rows: list[dict[str, str]] = []
    for line in _lines(SRC / "drug_verbatims.txt"):
        names, _, verbatims = line.partition("|")
        parts = [n.strip() for n in names.split(" + ") if n.strip()]
        codes = []
        for name in parts:
            substance = by_name.get(name.upper())
            if substance is None:
                raise SystemExit(f"drug_verbatims.txt: {name!r} is not a substance name")
            codes.append(substance["unii"])
        default = "not_one_substance" if not parts else (
            "combination" if len(parts) > 1 else "product")
        for raw in verbatims.split(";"):
            if not raw.strip():
                continue
            verbatim, category = split_tags(raw.strip(), default)
            rows.append({"verbatim": verbatim, "kind": "drug", "expected_code": "|".join(codes),
                         "expected_term": " + ".join(parts), "category": category})
    return _finish(rows)


def _finish(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, str] = {}
    out = []
    for row in rows:
        key = row["verbatim"].lower()
        if key in seen:
            if seen[key] != row["expected_code"]:
                raise SystemExit(f"{row['verbatim']!r} listed twice with different answers")
            continue
        seen[key] = row["expected_code"]
        out.append({**row, "half": half_of(row["kind"], row["verbatim"])})
    return out


def write(path: Path, header: str, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        writer = csv.DictWriter(fh, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> int:
    events = build_events()
    drugs = build_drugs()
    note = ("# GENERATED by scripts/build_coding_sets.py from tests/data/coding_lay/*.txt; "
            "edit those.\n# half=locked rows are the locked test half: never tune on them.\n")
    write(ROOT / "tests/data/coding_lay_set.csv", note, events)
    write(ROOT / "tests/data/coding_drug_set.csv", note, drugs)
    for name, rows in (("lay events", events), ("drugs", drugs)):
        locked = sum(1 for r in rows if r["half"] == "locked")
        codable = sum(1 for r in rows if r["expected_code"])
        print(f"{name}: {len(rows)} rows ({codable} codable), dev {len(rows) - locked}, "
              f"locked {locked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Loader for the bundled open dictionary in ``dictionaries/`` (built by
``scripts/build_dictionaries.py``).

It yields two terminologies: events (family ``SafetyDesk-open``; CTCAE/OAE codes, which are
MedDRA codes, with the team's synonym table) and drugs (family ``SafetyDesk-open-drugs``; FDA
UNII substances with their active moiety).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from safety.coding.terminology import (
    CURATED,
    SUBSTANCE,
    Concept,
    Release,
    Synonym,
    Terminology,
    TerminologyError,
)

EVENTS_FAMILY = "SafetyDesk-open"
DRUGS_FAMILY = "SafetyDesk-open-drugs"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def is_open_dictionary(path: Path) -> bool:
    return (path / "release.json").is_file() and (path / "events.csv").is_file()


def load_open_dictionary(path: Path) -> tuple[Terminology, Terminology]:
    meta = json.loads((path / "release.json").read_text(encoding="utf-8"))
    events = Terminology(
        Release(EVENTS_FAMILY, meta["version"], meta["language"], meta["checksum"], str(path))
    )
    drugs = Terminology(
        Release(DRUGS_FAMILY, meta["version"], meta["language"], meta["checksum"], str(path))
    )
    for soc in _rows(path / "socs.csv"):
        events.add(Concept(soc["soc_code"], soc["soc_name"], "SOC", abbrev=soc["soc_abbrev"]))
    rows = _rows(path / "events.csv")
    for row in rows:
        events.add(Concept(row["code"], row["term"], "LLT"))
        if row["pt_code"] == row["code"]:
            events.add(Concept(row["code"], row["term"], "PT"))
    for row in rows:
        events.link(("LLT", row["code"]), ("PT", row["pt_code"]))
        if row["pt_code"] == row["code"] and row["soc_code"]:
            events.link(("PT", row["code"]), ("SOC", row["soc_code"]))
        for text in filter(None, row["synonyms"].split("|")):
            events.synonyms.append(Synonym(text, row["code"], "LLT", "dictionary"))

    for row in _rows(path / "drugs.csv"):
        drugs.add(Concept(row["unii"], row["name"], SUBSTANCE))
        if row["moiety_unii"]:
            drugs.moieties[row["unii"]] = row["moiety_unii"]
        for text in filter(None, row["names"].split("|")):
            drugs.synonyms.append(Synonym(text, row["unii"], SUBSTANCE, "dictionary"))
    for row in _rows(path / "drug_combinations.csv"):
        uniis = row["uniis"].split("|")
        for unii in uniis:
            # A combination product names several substances: a suggestion, never auto.
            drugs.synonyms.append(
                Synonym(row["name"], unii, SUBSTANCE, "dictionary", auto=len(uniis) == 1)
            )

    for number, row in enumerate(_rows(path / "synonyms.csv"), start=2):
        target = events if row["kind"] == "event" else drugs
        level = "LLT" if row["kind"] == "event" else SUBSTANCE
        if row["kind"] not in ("event", "drug") or row["auto"] not in ("Y", "N"):
            raise TerminologyError(f"synonyms.csv line {number}: kind/auto must be event|drug, Y|N")
        target.synonyms.append(
            Synonym(
                row["verbatim"], row["code"], level, CURATED,
                auto=row["auto"] == "Y", added_by=row["added_by"], reason=row["reason"],
            )
        )
    events.check()
    drugs.check()
    return events, drugs

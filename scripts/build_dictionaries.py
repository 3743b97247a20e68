"""Build the bundled open dictionary in ``dictionaries/`` from ``dictionaries-src``.

Usage: ``python scripts/build_dictionaries.py [SOURCE_DIR] [--out dictionaries]``

Deterministic: the same sources give byte-identical outputs (rows sorted, no timestamps
except the fixed release date below), and ``release.json`` records the sha256 of every
source and output file. How each kind of dirt is cleaned is described in
``dictionaries/README.md``; the counts of what was cleaned are written to ``build_report.json``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safety.coding.normalise import Rules, event_keys  # noqa: E402

RELEASE = {
    "family": "SafetyDesk-open",
    "version": "2026.11",
    "language": "en",
    "release_date": "2026-11-24",
}
MAX_DRUG_NAME = 60


@dataclass
class EventConcept:
    code: str
    term: str
    soc_code: str
    pt_code: str = ""
    sources: set[str] = field(default_factory=set)
    synonyms: set[str] = field(default_factory=set)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class UkSpelling:
    """US→UK rewriting of PT labels, from ``curation/spelling_us_to_uk.csv``."""

    def __init__(self, path: Path) -> None:
        self.rules = [(re.compile(r["us_regex"], re.IGNORECASE), r["uk"]) for r in read_csv(path)]

    def __call__(self, label: str) -> str:
        out = label
        for pattern, uk in self.rules:
            out = pattern.sub(lambda m, uk=uk: _same_case(m.group(0), uk), out)
        return out


def _same_case(original: str, replacement: str) -> str:
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def valid_code(code: str) -> bool:
    return bool(re.fullmatch(r"\d{8}", code))


SOURCE_RANK = {"OAE 2022": 0, "CTCAE 5.0": 1, "CTCAE 4.03": 2}


def build_events(
    src: Path, curation: Path, rules: Rules, report: dict[str, object]
) -> dict[str, EventConcept]:
    uk = UkSpelling(curation / "spelling_us_to_uk.csv")
    socs = {r["soc_code"] for r in read_csv(src / "meddra_soc.csv")}
    concepts: dict[str, EventConcept] = {}
    dropped: list[dict[str, str]] = []

    def add(code: str, label: str, soc: str, source: str) -> None:
        label = " ".join(label.split())
        if not valid_code(code) or not label:
            dropped.append({"source": source, "code": code, "label": label, "why": "no code"})
            return
        concept = concepts.get(code)
        if concept is None:
            concepts[code] = EventConcept(code, label, soc if soc in socs else "", "", {source})
            return
        concept.sources.add(source)
        if not concept.soc_code and soc in socs:
            concept.soc_code = soc
        if event_keys(label, rules).full != event_keys(concept.term, rules).full:
            concept.synonyms.add(label)

    other_specify = 0
    for row in read_csv(src / "ctcae_v5.csv"):
        if row["is_other_specify"] == "1":
            other_specify += 1
            continue
        add(row["meddra_code"].strip(), row["term"], row["soc_code"].strip(), "CTCAE 5.0")
    v4_added = 0
    for row in read_csv(src / "ctcae_v4_03.csv"):
        if row["is_other_specify"] == "1":
            continue
        code = row["meddra_code"].strip()
        v4_added += code not in concepts
        add(code, row["term"], row["soc_code"].strip(), "CTCAE 4.03")

    resolution = {r["code"]: r for r in read_csv(curation / "code_conflicts.csv")}
    oae_by_code: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in read_csv(src / "oae_meddra_terms.csv"):
        oae_by_code[row["meddra_code"].strip()].append(row)
    unresolved: list[str] = []
    relabelled = 0
    for code, rows in sorted(oae_by_code.items()):
        labels = sorted({r["term"].strip() for r in rows})
        keep = labels
        extra: list[str] = []
        if len(labels) > 1 and valid_code(code):
            fix = resolution.get(code)
            if fix is None:
                unresolved.append(code)
                continue
            if fix["action"] == "drop":
                continue
            keep = [fix["keep_label"]]
            extra = fix["other_label"].split("|") if fix["action"] == "synonym" else []
        for label in keep:
            # OAE codes are MedDRA PT codes and PT names are in UK spelling; OAE writes US.
            uk_label = uk(label)
            relabelled += uk_label != label
            add(code, uk_label, "", "OAE 2022")
        if valid_code(code):
            concepts[code].synonyms.update(uk(x) for x in extra)
    if unresolved:
        raise SystemExit(f"code_conflicts.csv has no decision for codes: {unresolved}")

    linked, ambiguous = link_spelling_variants(concepts, rules)
    for c in concepts.values():
        if not c.pt_code:
            c.pt_code = c.code
    for c in concepts.values():
        pt = concepts[c.pt_code]
        if not pt.soc_code and c.soc_code:
            pt.soc_code = c.soc_code
    for c in concepts.values():
        if c.pt_code != c.code:
            c.soc_code = concepts[c.pt_code].soc_code
    report["events_dropped_without_code"] = dropped
    report["ctcae_other_specify_rows_skipped"] = other_specify
    report["ctcae_v4_only_codes_added"] = v4_added
    report["oae_code_conflicts_resolved"] = len(resolution)
    report["oae_labels_respelled_uk"] = relabelled
    report["llt_linked_to_pt_by_label"] = linked
    report["label_collisions_left_ambiguous"] = ambiguous
    return concepts


def link_spelling_variants(
    concepts: dict[str, EventConcept], rules: Rules
) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    """Codes whose labels normalise to the same words are one PT and its LLTs.

    MedDRA keeps "Anemia" as an LLT (the CTCAE code) under the PT "Anaemia" (the OAE code).
    The PT is the code from the source that carries PT codes (OAE), then CTCAE 5.0, then 4.03;
    a tie at the top rank cannot be decided without MedDRA and stays ambiguous.
    """
    by_key: dict[str, set[str]] = defaultdict(set)
    for c in concepts.values():
        by_key[" ".join(sorted(event_keys(c.term, rules).full.split()))].add(c.code)
    linked: list[dict[str, str]] = []
    ambiguous: list[dict[str, object]] = []
    for key, codes in sorted(by_key.items()):
        if len(codes) < 2:
            continue
        ranked = sorted(codes, key=lambda x: (min(SOURCE_RANK[s] for s in concepts[x].sources), x))
        best = min(SOURCE_RANK[s] for s in concepts[ranked[0]].sources)
        top = [x for x in ranked if min(SOURCE_RANK[s] for s in concepts[x].sources) == best]
        if len(top) > 1:
            ambiguous.append({"key": key, "codes": sorted(codes)})
            continue
        for code in ranked[1:]:
            concepts[code].pt_code = ranked[0]
            linked.append({"llt": code, "pt": ranked[0], "key": key})
    return linked, ambiguous


def build_drugs(src: Path, report: dict[str, object]) -> tuple[list[list[str]], list[list[str]]]:
    rows = read_csv(src / "drugs_unii.csv")
    known = {r["unii"] for r in rows}
    drugs: list[list[str]] = []
    combos: dict[str, set[str]] = defaultdict(set)
    long_names = 0
    for r in rows:
        unii = r["unii"].strip()
        if not unii:
            continue
        names: set[str] = set()
        for col in ("official_names", "brand_names", "synonyms", "research_codes"):
            for name in filter(None, (n.strip() for n in r[col].split("|"))):
                if len(name) > MAX_DRUG_NAME:
                    long_names += 1
                    continue
                names.add(name)
        names.discard(r["display_name"])
        for name in filter(None, (n.strip() for n in r["combination_products"].split("|"))):
            combos[name].add(unii)
        moiety = r["parent_guess_unii"].strip()
        if moiety not in known:
            moiety = ""
        drugs.append([unii, r["display_name"].strip(), moiety, "|".join(sorted(names))])
    drugs.sort(key=lambda d: (d[1], d[0]))
    combo_rows = [[name, "|".join(sorted(u))] for name, u in sorted(combos.items())]
    report["drug_names_dropped_too_long"] = long_names
    return drugs, combo_rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", nargs="?", default=str(ROOT.parent / "shared/dictionaries-src"))
    parser.add_argument("--out", default=str(ROOT / "dictionaries"))
    args = parser.parse_args(argv)
    src, out = Path(args.source), Path(args.out)
    curation = out / "curation"
    rules = Rules.from_dir(curation)
    report: dict[str, object] = {}

    concepts = build_events(src, curation, rules, report)
    write_csv(
        out / "events.csv",
        ["code", "term", "pt_code", "soc_code", "sources", "synonyms"],
        [
            [
                c.code, c.term, c.pt_code, c.soc_code,
                "|".join(sorted(c.sources)), "|".join(sorted(c.synonyms)),
            ]
            for c in sorted(concepts.values(), key=lambda c: c.code)
        ],
    )
    socs = read_csv(src / "meddra_soc.csv")
    write_csv(
        out / "socs.csv",
        ["soc_code", "soc_name", "soc_abbrev", "intl_order"],
        [[s["soc_code"], s["soc_name"], s["soc_abbrev"], s["intl_order"]] for s in socs],
    )
    drugs, combos = build_drugs(src, report)
    write_csv(out / "drugs.csv", ["unii", "name", "moiety_unii", "names"], drugs)
    write_csv(out / "drug_combinations.csv", ["name", "uniis"], combos)
    report["counts"] = {
        "event_concepts": len(concepts),
        "event_concepts_without_soc": sum(1 for c in concepts.values() if not c.soc_code),
        "socs": len(socs),
        "drug_substances": len(drugs),
        "drug_combination_names": len(combos),
    }
    (out / "build_report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")

    outputs = ["events.csv", "socs.csv", "drugs.csv", "drug_combinations.csv", "synonyms.csv"]
    release = dict(RELEASE)
    release["sources"] = {p.name: sha256(p) for p in sorted(src.glob("*.csv"))}
    release["files"] = {name: sha256(out / name) for name in outputs if (out / name).exists()}
    digest = hashlib.sha256()
    for name in sorted(release["files"]):
        digest.update(f"{name}:{release['files'][name]}\n".encode())
    release["checksum"] = digest.hexdigest()
    (out / "release.json").write_text(json.dumps(release, indent=1, sort_keys=True) + "\n")
    print(json.dumps(report["counts"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Evaluate the autocoder on the labelled sets, and calibrate its thresholds.

Usage:
    python scripts/evaluate_coding.py [--devset tests/data/coding_devset.csv] [--errors]
    python scripts/evaluate_coding.py --calibrate   # writes autocoder_thresholds.json

Sets: ``coding_devset.csv`` (the team's set, mostly clinical wording: the "clinical" line),
``coding_lay_set.csv`` (lay verbatims, printed as its dev and LOCKED halves) and
``coding_drug_set.csv`` (drug verbatims, both halves), lay set B (``coding_lay_b/``, see
``read_lay_b``: locked once, spent, now development data) and lay sets C (``coding_lay_c/``)
and D (``coding_lay_d/``), scored once as locked sets after round 5 and spent since
(development data: printed, listed by ``--errors``, used in calibration). The locked halves
and sets are printed for the record only; nothing is calibrated or chosen on them. An
expected code may name alternatives (``a|b``, both acceptable); a ``combination`` row is
never right when auto-coded, because one substance code would drop the others.

Scoring: an event is right when the chosen LLT rolls up to the expected PT; a drug when the
chosen substance has the expected active moiety. Rows with no expected code are ambiguous or
not events/drugs and are right only when *not* auto-coded.

Calibration is honest by construction: thresholds are chosen on the even-numbered rows only
(the highest auto share with auto precision >= 98% and <= 5% ambiguous auto-coded) and the
report shows the odd-numbered (held-out) rows separately.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safety.coding.autocoder import Autocoder, CodingResult, Thresholds  # noqa: E402
from safety.coding.bundled import bundled_autocoder  # noqa: E402
from safety.coding.open_dictionary import load_open_dictionary  # noqa: E402
from safety.coding.paths import curation_dir  # noqa: E402
from safety.coding.semantic import load_embedder  # noqa: E402
from safety.package_data import BUNDLED_DICTIONARIES  # noqa: E402

GRID_SCORE = (84.0, 86.0, 88.0, 90.0, 92.0, 94.0, 96.0, 98.0)
# A margin below 3 points is not offered: a near-tie between two PTs is for the physician.
GRID_MARGIN = (3.0, 5.0, 8.0, 10.0, 15.0)


@dataclass(frozen=True)
class Row:
    verbatim: str
    kind: str
    expected: str
    category: str


def read_devset(path: Path, half: str | None = None) -> list[Row]:
    """Rows of a set; ``half`` ("dev"/"locked") keeps one half of a set that has halves."""
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return [
        Row(r["verbatim"], r["kind"], r["expected_code"], r["category"])
        for r in csv.DictReader(lines)
        if half is None or r.get("half") == half
    ]


def read_lay(path: Path, half: str) -> list[Row]:
    """One half of the first lay set; the dev half with its round-5 second reading
    (``coding_lay/adjudication_dev.tsv``: a|b where a more specific or MedDRA-equivalent
    code is also right). The LOCKED half is read as it was locked."""
    rows = read_devset(path, half)
    adjudication = ROOT / "tests/data/coding_lay/adjudication_dev.tsv"
    if half != "dev" or not adjudication.is_file():
        return rows
    final = read_adjudication(adjudication)
    return [replace(r, expected=final.get(r.verbatim, r.expected)) for r in rows]


def read_adjudication(path: Path) -> dict[str, str]:
    """A second reading's final expected code(s) per verbatim (``verbatim, code(s), why``;
    ``a|b`` either; empty: a person codes it)."""
    final = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            verbatim, expected, _why = line.split("\t")
            final[verbatim] = expected
    return final


def read_lay_folder(folder: Path, suffix: str) -> list[Row]:
    """A lay set written by people who never saw the coder, second-read row by row and
    adjudicated by rule before it was scored: ``lay_events_<suffix>.txt`` (verbatim, code,
    term), ``lay_ambiguous_<suffix>.txt`` (texts for a person) and ``adjudication_<suffix>.tsv``
    (the final expected code(s) where the second reading changed them)."""
    def lines(name: str) -> list[str]:
        text = (folder / name).read_text(encoding="utf-8")
        return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]

    final = read_adjudication(folder / f"adjudication_{suffix}.tsv")
    rows: list[Row] = []
    for line in lines(f"lay_events_{suffix}.txt"):
        verbatim, code, _term = line.split("\t")
        rows.append(Row(verbatim, "event", final.get(verbatim, code), f"lay_{suffix}"))
    for verbatim in lines(f"lay_ambiguous_{suffix}.txt"):
        rows.append(Row(verbatim.strip(), "event", final.get(verbatim.strip(), ""),
                        f"lay_{suffix}"))
    return rows


def read_lay_b(folder: Path) -> list[Row]:
    """Lay set B (``tests/data/coding_lay_b``): written after the first set's locked half had been
    looked at. It was scored once as a locked set (2026-12-07, after round 4) and is spent:
    since then it is development data (read for diagnosis, used in calibration), printed as
    ``lay B (spent: dev)``.
    """
    return read_lay_folder(folder, "b")


def read_lay_c(folder: Path) -> list[Row]:
    """Lay set C (``tests/data/coding_lay_c``), LOCKED: written and second-read during round 5
    by people who never saw the coder, added after round 5's coder was frozen; scored only
    with ``--locked`` (its README and PREREGISTRATION say how)."""
    return read_lay_folder(folder, "c")


def read_lay_e(folder: Path) -> list[Row]:
    """Lay set E (``tests/data/coding_lay_e``), LOCKED: the acceptance set of round 6, written
    and second-read by people who never saw the coder, in three voices (form fragments,
    first-person sentences, third-person notes with abbreviations); added after round 6's
    coder was frozen; scored only with ``--locked``."""
    return read_lay_folder(folder, "e")


def read_lay_d(folder: Path) -> list[Row]:
    """Lay set D (``tests/data/coding_lay_d``), LOCKED: written beside set C as a reserve, in a
    second voice (hotline notes, emails, forum posts around the one event); scored only with
    ``--locked``, after set C (its PREREGISTRATION says when)."""
    return read_lay_folder(folder, "d")


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def not_in_earlier_sets(rows: list[Row], *earlier: list[Row]) -> list[Row]:
    """The rows whose verbatim (case and spacing aside) is in none of ``earlier``: common
    phrases recur across independently written sets; printed for information only."""
    seen = {_normal(r.verbatim) for rows_ in earlier for r in rows_}
    return [r for r in rows if _normal(r.verbatim) not in seen]


def _right(coder: Autocoder, code: str | None, expected: str) -> bool:
    return code is not None and any(
        coder.group_of(code) == coder.group_of(e) for e in expected.split("|")
    )


def _auto_right(row: Row, res: CodingResult, coder: Autocoder) -> bool:
    return bool(row.expected) and row.category != "combination" and _right(
        coder, res.code, row.expected)


def metrics(pairs: list[tuple[Row, CodingResult, Autocoder]]) -> dict[str, float]:
    codable = [(r, res, c) for r, res, c in pairs if r.expected]
    ambiguous = [(r, res, c) for r, res, c in pairs if not r.expected]
    auto = [(r, res, c) for r, res, c in pairs if res.auto]
    auto_right = [1 for r, res, c in auto if _auto_right(r, res, c)]
    top1 = sum(
        1
        for r, res, c in codable
        if _right(c, res.code or (res.candidates[0].code if res.candidates else None), r.expected)
    )
    at5 = sum(
        1
        for r, res, c in codable
        if any(_right(c, cand.code, r.expected) for cand in res.candidates[:5])
    )
    n = max(len(codable), 1)
    return {
        "rows": len(pairs),
        "codable": len(codable),
        "ambiguous": len(ambiguous),
        "auto_precision": len(auto_right) / max(len(auto), 1),
        "auto_share": sum(1 for _, res, _ in codable if res.auto) / n,
        "top1_accuracy": top1 / n,
        "recall_at_5": at5 / n,
        "ambiguous_auto_rate": sum(1 for _, res, _ in ambiguous if res.auto)
        / max(len(ambiguous), 1),
    }


def run(rows: list[Row], coders: dict[str, Autocoder]) -> list[tuple[Row, CodingResult, Autocoder]]:
    out: list[tuple[Row, CodingResult, Autocoder]] = []
    for kind in ("event", "drug"):
        part = [r for r in rows if r.kind == kind]
        coder = coders[kind + "s"]
        out += zip(part, coder.code_many([r.verbatim for r in part]), [coder] * len(part),
                   strict=True)
    order = {id(r): i for i, r in enumerate(rows)}
    return sorted(out, key=lambda p: order[id(p[0])])


def run_leave_rules_out(rows: list[Row], coders: dict[str, Autocoder]
                        ) -> list[tuple[Row, CodingResult, Autocoder]]:
    """The rows coded with, for each, the lay vocabulary rows that only it uses left out.

    The vocabulary was written partly from the development texts' misses, so on them it
    does better than on wording nobody has seen (lay dev vs LOCKED: 0.62 vs 0.48 auto share
    before round 4). A phrase or body-part rule that fires on one development text alone was
    probably written for it: coding that text without it estimates how the rules do on a
    text they were not written from -- a pessimistic estimate (generic rules that happen to
    fire once are left out too), the optimistic one being the plain dev figure.
    """
    coder = coders["events"]
    rules = coder.lay
    if rules is None:
        return run(rows, coders)
    used = [rules.rules_used(r.verbatim) if r.kind == "event" else set() for r in rows]
    count: dict[tuple[str, str], int] = {}
    for u in used:
        for rule in u:
            count[rule] = count.get(rule, 0) + 1
    own = [frozenset(rule for rule in u if count[rule] == 1) for u in used]
    results: dict[int, CodingResult] = {}
    by_drop: dict[frozenset[tuple[str, str]], list[int]] = {}
    for i, (row, drop) in enumerate(zip(rows, own, strict=True)):
        if row.kind == "event":
            by_drop.setdefault(drop, []).append(i)
    try:
        for drop, idx in by_drop.items():
            coder.lay = rules.without(set(drop)) if drop else rules
            for i, res in zip(idx, coder.code_many([rows[i].verbatim for i in idx]),
                              strict=True):
                results[i] = res
    finally:
        coder.lay = rules
    drugs = [i for i, r in enumerate(rows) if r.kind == "drug"]
    if drugs:
        for i, res in zip(drugs, coders["drugs"].code_many([rows[i].verbatim for i in drugs]),
                          strict=True):
            results[i] = res
    return [(row, results[i], coder if row.kind == "event" else coders["drugs"])
            for i, row in enumerate(rows)]


def calibrate(rows: list[Row], coders: dict[str, Autocoder]) -> dict[str, dict[str, float]]:
    chosen: dict[str, dict[str, float]] = {}
    for kind, coder in coders.items():
        part = [r for i, r in enumerate(rows) if i % 2 == 0 and (r.kind + "s") == kind]
        base = coder.thresholds
        best: tuple[float, float, float] | None = None
        for score in GRID_SCORE:
            for margin in GRID_MARGIN:
                coder.thresholds = replace(base, fuzzy_auto=score, margin=margin)
                m = metrics(run(part, {kind: coder, "events": coder, "drugs": coder}))
                if m["auto_precision"] >= 0.98 and m["ambiguous_auto_rate"] <= 0.05:
                    key = (m["auto_share"], score, margin)
                    # Ties go to the stricter setting: higher score, then larger margin.
                    if best is None or key > best:
                        best = key
        if best is None:
            best = (0.0, 100.0, 100.0)
        chosen[kind] = {
            "fuzzy_auto": best[1],
            "margin": best[2],
            "min_length": base.min_length,
            "suggest_min": base.suggest_min,
        }
        coder.thresholds = Thresholds(**chosen[kind])  # type: ignore[arg-type]
    return chosen


def _fit_logistic(x: Any, y: Any, l2: float = 1.0) -> Any:
    """Logistic regression by Newton's method with an L2 penalty (intercept unpenalised)."""
    import numpy as np

    xb = np.hstack([np.ones((x.shape[0], 1)), x])
    w = np.zeros(xb.shape[1])
    penalty = np.eye(xb.shape[1]) * l2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -50, 50)))
        grad = xb.T @ (p - y) + penalty @ w
        hess = (xb.T * (p * (1 - p))) @ xb + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _probabilities(w: Any, x: Any) -> Any:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.clip(w[0] + x @ w[1:], -50, 50)))


P_GRID = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))
# Texts for a person auto-coded in the held-out lay set (target 10 %). Round 4's 5-fold
# calibration on the dev rows alone (p_min 0.85) was replaced by calibrate_cross in round 5:
# it met 0.97 out of fold on dev and gave 0.910 on set B.
TARGET_AMBIGUOUS = 0.05
# The calibrated model's inputs (names of ``Fused.named``); round 4 added the word
# agreement with the text found, the cosine lead and the lexical ranking's agreement.
SEMANTIC_FEATURES = ("best", "lead", "cosine", "fuzzy", "both", "views", "lay",
                     "read_covered", "found_covered", "sem_lead", "lexical_top")


def _decide(pairs: list[tuple[Row, CodingResult, Autocoder]], prob: dict[int, float],
            p_min: float) -> dict[str, float]:
    """Precision, share and ambiguous rate when the semantic stage auto-codes at p_min."""
    auto = [(r, res, c) for i, (r, res, c) in enumerate(pairs)
            if (res.auto if res.fused is None else
                res.fused.lexical or (res.fused.eligible and prob.get(i, 0.0) >= p_min))]
    codable = sum(1 for r, _, _ in pairs if r.expected)
    ambiguous = sum(1 for r, _, _ in pairs if not r.expected)
    own = [(r, res, c) for i, (r, res, c) in enumerate(pairs)
           if res.fused is not None and not res.fused.lexical and res.fused.eligible
           and prob.get(i, 0.0) >= p_min]
    return {
        "precision": sum(1 for p in auto if _auto_right(*p)) / max(len(auto), 1),
        "share": sum(1 for r, _, _ in auto if r.expected) / max(codable, 1),
        "ambiguous": sum(1 for r, _, _ in auto if not r.expected) / max(ambiguous, 1),
        "own_precision": sum(1 for p in own if _auto_right(*p)) / max(len(own), 1),
        "own": float(len(own)),
    }


# Cross-set calibration (round 5): the auto-code cut-off must hold on wording the model was
# not fitted on. On the held-out set's probabilities (the model fitted on the other set):
HELD_OUT_PRECISION = 0.96  # all auto-codes of the held-out lay set (target 0.95, margin)
HELD_OUT_UNSEEN = 0.95  # the same with each text's own vocabulary rows left out
HELD_OUT_STAGE = 0.90  # the semantic stage's own auto-codes on the held-out set
# Texts for a person: <= 5 % of the lay set's, and the target (10 %) over all its rows (the
# team set's own texts for a person are 7.8 % auto-coded by their exact/lay keys alone:
# "pain", "swelling", "lip swelling", which no threshold here changes).
HELD_OUT_AMBIGUOUS = 0.10


@dataclass
class Group:
    """One development set for cross-set calibration: its rows as coded, the same rows with
    their own vocabulary rows left out, and how many of the first rows are lay texts."""

    name: str
    pairs: list[tuple[Row, CodingResult, Autocoder]]
    unseen: list[tuple[Row, CodingResult, Autocoder]]
    lay_rows: int


def _decided(part: list[tuple[Row, CodingResult, Autocoder]]) -> list[int]:
    return [i for i, (_, res, _) in enumerate(part)
            if res.fused is not None and res.fused.eligible and not res.fused.lexical]


def _xy(parts: list[list[tuple[Row, CodingResult, Autocoder]]]) -> tuple[Any, Any]:
    import numpy as np

    x, y = [], []
    for part in parts:
        for i in _decided(part):
            x.append(part[i][1].fused.features(SEMANTIC_FEATURES))  # type: ignore[union-attr]
            y.append(1.0 if _auto_right(*part[i]) else 0.0)
    return np.array(x), np.array(y)


def _predict(w: Any, part: list[tuple[Row, CodingResult, Autocoder]]) -> dict[int, float]:
    import numpy as np

    idx = _decided(part)
    if not idx:
        return {}
    x = np.array([part[i][1].fused.features(SEMANTIC_FEATURES)  # type: ignore[union-attr]
                  for i in idx])
    return {i: float(p) for i, p in zip(idx, _probabilities(w, x), strict=True)}


def calibrate_cross(groups: list[Group]) -> dict[str, object]:
    """The semantic auto decision, calibrated so that it holds on wording it was not fitted on.

    Each development set is scored by a model fitted on the *other* sets only (the first
    lay set's dev half, written by the team that wrote the vocabulary, against set B, written
    blind by someone else): a set's wording, its writer's habits and the vocabulary rows
    written from its misses are never in the model that scores it. The cut-off ``p_min`` is
    the lowest (largest auto share) at which, on every held-out set, all auto-codes are right
    >= 96 % of the time (target 0.95, with a margin for a set nobody has seen), >= 95 % with
    each text's own vocabulary rows left out, the semantic stage's own auto-codes >= 90 %,
    and <= 5 % of the lay set's texts for a person are auto-coded (10 % over all its rows).
    The model stored is fitted on all sets (their normal and own-rules-out readings).
    Returns the thresholds' fields.
    """
    held: list[tuple[dict[int, float], dict[int, float]]] = []
    for g in groups:
        others = [o for o in groups if o is not g]
        w = _fit_logistic(*_xy([p for o in others for p in (o.pairs, o.unseen)]))
        held.append((_predict(w, g.pairs), _predict(w, g.unseen)))
    best: float | None = None
    for p_min in P_GRID:
        ok = True
        line = []
        for g, (probs, probs_u) in zip(groups, held, strict=True):
            lay, lay_u = g.pairs[:g.lay_rows], g.unseen[:g.lay_rows]
            m, u = _decide(lay, probs, p_min), _decide(lay_u, probs_u, p_min)
            whole = _decide(g.pairs, probs, p_min)
            line.append(f"{g.name}: {m['precision']:.3f}/{m['share']:.3f} amb {m['ambiguous']:.3f}"
                        f" stage {m['own_precision']:.3f} ({m['own']:.0f}); own rules out "
                        f"{u['precision']:.3f}/{u['share']:.3f}")
            ok = ok and (m["precision"] >= HELD_OUT_PRECISION and u["precision"] >= HELD_OUT_UNSEEN
                         and m["own_precision"] >= HELD_OUT_STAGE
                         and m["ambiguous"] <= TARGET_AMBIGUOUS
                         and whole["ambiguous"] <= HELD_OUT_AMBIGUOUS)
        print(f"  p_min={p_min:.2f} held out: " + "; ".join(line) + (" OK" if ok else ""))
        if ok and best is None:
            best = p_min
    p_min = best if best is not None else 1.01
    for g, (probs, probs_u) in zip(groups, held, strict=True):
        m = _decide(g.pairs[:g.lay_rows], probs, p_min)
        u = _decide(g.unseen[:g.lay_rows], probs_u, p_min)
        print(f"held-out estimate at p_min={p_min}: {g.name}: precision={m['precision']:.3f} "
              f"share={m['share']:.3f} ambiguous_auto={m['ambiguous']:.3f} semantic-stage "
              f"precision={m['own_precision']:.3f} ({m['own']:.0f}); own rules out: "
              f"precision={u['precision']:.3f} share={u['share']:.3f}")
    w = _fit_logistic(*_xy([p for g in groups for p in (g.pairs, g.unseen)]))
    first = groups[0].pairs[0][2]
    return {"semantic_model": [round(float(v), 5) for v in w], "semantic_p_min": p_min,
            "semantic_features": list(SEMANTIC_FEATURES),
            "semantic_for": first.semantic.embedder.name if first.semantic else ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devset", default=str(ROOT / "tests/data/coding_devset.csv"))
    parser.add_argument("--layset", default=str(ROOT / "tests/data/coding_lay_set.csv"))
    parser.add_argument("--drugset", default=str(ROOT / "tests/data/coding_drug_set.csv"))
    parser.add_argument("--layset-b", default=str(ROOT / "tests/data/coding_lay_b"))
    parser.add_argument("--layset-c", default=str(ROOT / "tests/data/coding_lay_c"))
    parser.add_argument("--layset-d", default=str(ROOT / "tests/data/coding_lay_d"))
    parser.add_argument("--layset-e", default=str(ROOT / "tests/data/coding_lay_e"))
    parser.add_argument("--semantic", nargs="?", const="minilm", default=None,
                        help="semantic mode (backend: minilm or e5)")
    parser.add_argument("--index-dir", default=str(ROOT / "instance/semantic-index"))
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--calibrate-semantic", action="store_true",
                        help="choose the semantic thresholds cross-set on the dev sets "
                             "(first set dev + team even rows vs set B; needs --semantic)")
    parser.add_argument("--errors", action="store_true", help="print wrong rows")
    parser.add_argument("--locked", action="store_true",
                        help="also score the LOCKED halves (once, for the record: their "
                             "figures are not looked at while tuning)")
    args = parser.parse_args(argv)
    rows = read_devset(Path(args.devset))
    embedder = None
    if args.semantic:
        embedder = load_embedder(args.semantic)
        if embedder is None:
            parser.error("--semantic: the semantic extra is not installed")
        events, drugs = load_open_dictionary(BUNDLED_DICTIONARIES)
        index_dir = Path(args.index_dir)
        coders = {
            "events": Autocoder(events, "events", embedder=embedder, index_dir=index_dir),
            # Drug names (brands, codes, misspellings) are not semantic: lexical only.
            "drugs": Autocoder(drugs, "drugs"),
        }
    else:
        coders = {"events": bundled_autocoder("events"), "drugs": bundled_autocoder("drugs")}
    print(f"mode: events {coders['events'].mode}, drugs {coders['drugs'].mode}")
    if args.calibrate:
        chosen = calibrate(rows, coders)
        out = curation_dir() / "autocoder_thresholds.json"
        chosen_doc = {
            **chosen,
            "calibrated_on": "even-numbered rows of tests/data/coding_devset.csv",
            "rule": "max auto share with auto precision >= 0.98 and ambiguous auto <= 0.05",
        }
        out.write_text(json.dumps(chosen_doc, indent=1, sort_keys=True) + "\n")
        print(f"wrote {out}: {json.dumps(chosen)}")
    results = run(rows, coders)
    plain: list[Autocoder] = []

    def plain_coder() -> Autocoder:
        """The events coder whose semantic index lacks the lay exemplars (see below)."""
        if not args.semantic:
            return coders["events"]
        if not plain:
            assert embedder is not None
            events, _ = load_open_dictionary(BUNDLED_DICTIONARIES)
            plain.append(Autocoder(events, "events"))
            plain[0].attach_semantic(embedder, Path(args.index_dir), lay_exemplars=False)
        plain[0].thresholds = coders["events"].thresholds
        return plain[0]

    if args.calibrate_semantic:
        if not args.semantic:
            parser.error("--calibrate-semantic needs --semantic")
        # The dev verbatims' own phrasing went into the lay vocabulary, whose phrases are also
        # index entries: with them a dev text finds itself, and its similarity says more than
        # an unseen text's would. Calibration reads the dev rows without those entries.
        cal = {"events": plain_coder(), "drugs": coders["drugs"]}
        lay_dev = read_lay(Path(args.layset), "dev")
        team_even = [r for i, r in enumerate(rows) if i % 2 == 0 and r.kind == "event"]
        lay_b = read_lay_b(Path(args.layset_b))
        # Round 5: cross-set (the first set's dev half + team even rows against set B, each
        # scored by a model fitted on the other); see calibrate_cross.
        groups = [
            Group("first set dev + team even", run(lay_dev + team_even, cal),
                  run_leave_rules_out(lay_dev + team_even, cal), len(lay_dev)),
            Group("set B", run(lay_b, cal), run_leave_rules_out(lay_b, cal), len(lay_b)),
        ]
        # Round 6: sets C and D, scored once as locked sets after round 5 and spent since,
        # are development groups of their own (C: short fragments; D: notes with context).
        for name, rows_ in (("set C", read_lay_c(Path(args.layset_c))),
                            ("set D", read_lay_d(Path(args.layset_d)))):
            groups.append(Group(name, run(rows_, cal), run_leave_rules_out(rows_, cal),
                                len(rows_)))
        chosen_semantic = calibrate_cross(groups)
        path = curation_dir() / "autocoder_thresholds.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["events"].update(chosen_semantic)
        doc["semantic_calibrated_on"] = (
            "cross-set: dev half of tests/data/coding_lay_set.csv + even rows of "
            "coding_devset.csv (events), lay sets B, C and D (spent, dev since 2026-12-07), "
            "each scored by a model fitted on the others; never the first set's locked half")
        path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path}: {json.dumps(chosen_semantic)}")
        coders["events"].thresholds = Thresholds.load("events", path)
        results = run(rows, coders)
    # The same team wrote the synonym table and the dev set: also report the rows whose text
    # is not itself a team synonym, so the figure does not lean on that overlap.
    team = {
        kind: {coder._keys(s.text)[0] for s in coder.terms.synonyms if s.origin == "curated"}
        for kind, coder in coders.items()
    }
    halves = ("dev", "locked") if args.locked else ("dev",)
    sets = {half: run(read_lay(Path(args.layset), half), coders) for half in halves}
    set_b = run(read_lay_b(Path(args.layset_b)), coders)
    drug_sets = {half: run(read_devset(Path(args.drugset), half), coders) for half in halves}
    report = {
        "team set, all": metrics(results),
        "clinical (team)": metrics([p for p in results if p[0].category == "clinical"]),
        "team events": metrics([p for p in results if p[0].kind == "event"]),
        "team drugs": metrics([p for p in results if p[0].kind == "drug"]),
        "team held-out odd": metrics([p for i, p in enumerate(results) if i % 2 == 1]),
        "team not synonyms": metrics([
            p for p in results
            if p[2]._keys(p[0].verbatim)[0] not in team[p[0].kind + "s"]
        ]),
        "lay dev": metrics(sets["dev"]),
        # Each dev text without the vocabulary rows only it uses: see run_leave_rules_out.
        # Semantic mode: read with the index without lay exemplars (a text's own phrasing
        # would otherwise still be found through its exemplar).
        "lay dev, own rules out": metrics(
            run_leave_rules_out(read_lay(Path(args.layset), "dev"),
                                {"events": plain_coder(), "drugs": coders["drugs"]})),
        "drugs dev": metrics(drug_sets["dev"]),
        # Scored once as a locked set after round 4; spent since, development data.
        "lay B (spent: dev)": metrics(set_b),
        # Set B's texts without the vocabulary rows only each uses (round 5 wrote rows for
        # the classes of B's failures): the estimate for wording nobody has seen.
        "lay B, own rules out": metrics(
            run_leave_rules_out(read_lay_b(Path(args.layset_b)),
                                {"events": plain_coder(), "drugs": coders["drugs"]})),
    }
    # Sets C and D: scored once as locked sets after round 5, spent since (development data).
    lay_c = read_lay_c(Path(args.layset_c))
    lay_d = read_lay_d(Path(args.layset_d))
    set_c, set_d = run(lay_c, coders), run(lay_d, coders)
    report["lay C (spent: dev)"] = metrics(set_c)
    report["lay D (spent: dev)"] = metrics(set_d)
    for name, rows_ in (("lay C, own rules out", lay_c), ("lay D, own rules out", lay_d)):
        report[name] = metrics(run_leave_rules_out(
            rows_, {"events": plain_coder(), "drugs": coders["drugs"]}))
    earlier = [read_devset(Path(args.layset)), read_lay_b(Path(args.layset_b)),
               read_devset(Path(args.devset))]
    report["lay D, new phrases"] = metrics(run(not_in_earlier_sets(lay_d, *earlier, lay_c),
                                               coders))
    if args.locked:
        report["lay LOCKED"] = metrics(sets["locked"])
        report["drugs LOCKED"] = metrics(drug_sets["locked"])
        lay_e = read_lay_e(Path(args.layset_e))
        report["lay E (scored once)"] = metrics(run(lay_e, coders))
        report["lay E, new phrases"] = metrics(run(
            not_in_earlier_sets(lay_e, *earlier, lay_c, lay_d), coders))
    for name, m in report.items():
        print(
            f"{name:22} rows={m['rows']:4} codable={m['codable']:4} "
            f"auto_precision={m['auto_precision']:.3f} auto_share={m['auto_share']:.3f} "
            f"top1={m['top1_accuracy']:.3f} recall@5={m['recall_at_5']:.3f} "
            f"ambiguous_auto={m['ambiguous_auto_rate']:.3f}"
        )
    if args.errors:
        # Never the locked halves: looking at their errors would be tuning on them.
        for row, res, coder in results + sets["dev"] + drug_sets["dev"] + set_b + set_c + set_d:
            wrong_auto = res.auto and not _auto_right(row, res, coder)
            missed = row.expected and not any(
                _right(coder, c.code, row.expected) for c in res.candidates[:5]
            )
            if wrong_auto or missed:
                tag = "WRONG-AUTO" if wrong_auto else "NOT-IN-TOP5"
                print(f"{tag:11} [{row.category}] {row.verbatim!r} expected={row.expected or '-'} "
                      f"got={res.code} {res.term} {res.method} {res.score}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

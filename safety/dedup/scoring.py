"""Duplicate scoring: Fellegi–Sunter likelihood ratios with a third hypothesis.

Classic Fellegi–Sunter weighs each field outcome by log2(m/u): m the probability of the outcome
when the two reports are the same case, u when they are not. Summed over fields that mistakes a
*second event in the same patient* for a duplicate, because every patient field agrees. We
therefore weigh three hypotheses for a pair of reports:

- ``duplicate``      the same patient and the same event episode (one case reported twice),
- ``other_patient``  different patients (twins, other subjects of one study, one literature series),
- ``new_event``      the same patient, but a different episode (a new case, not a duplicate).

Each field outcome has a likelihood under each hypothesis (m, u and v), estimated from labelled
pairs with additive smoothing; fields are assumed conditionally independent, as in
Fellegi–Sunter. The posterior of ``duplicate`` is the score. A missing outcome multiplies every
hypothesis by the same factor, so missing data is evidence of nothing. The per-field explanation
gives the classic weight log2(m/u) and the weight against a new event, log2(m/v).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from safety.dedup.comparison import FIELDS, compare, outcomes
from safety.dedup.profile import Profile

CLASSES = ("duplicate", "other_patient", "new_event")
SMOOTHING = 0.5


# Outcomes that make a pair "not a duplicate" whatever else agrees. Two reports of one trial
# subject whose events are clearly unlike (different concepts, or an uncoded verbatim unlike
# every name of the other's: ``safety.dedup.comparison._subject_events``) are two SAEs: the
# subject, study, drug, reporter and demographics are the same for every SAE of one subject,
# so their agreement says nothing about whether it is the same event, and ICH E2D(R1) counts a
# case by patient *and* event (a new, unrelated event of the same patient is a new case).
# The batch scan's clustering veto (``safety.dedup.scan.VETO``) then keeps them apart too.
VETOES = frozenset({("subject_events", "disjoint")})
# What places two reports of one subject in one episode: onsets in the same month or closer,
# or a date both quote (an admission, a test, the event's end).
SAME_EPISODE_ONSETS = frozenset({"exact", "close", "compatible"})


def another_episode(found: Mapping[str, str | None]) -> bool:
    """Two reports of one trial subject whose events are not the same set (one overlaps,
    resembles or lists more than the other) and that nothing places in one episode: both
    quote dates and share none (``subject_dates``), and the onsets are no closer than the
    same year (or one is missing). That is the subject's next SAE with a recurring event
    (fatigue again, months later, another hospital admission), not a copy of the first; a
    copy with fewer events still shares the onset month or a date. ICH E2D(R1) counts a case
    by patient and event episode. On the training stream no duplicate pair of one subject
    falls under it (docs/dedup.md)."""
    return (found.get("subject_events") in ("overlap", "similar", "uncoded_differs")
            and found.get("subject_dates") == "none_shared"
            and found.get("onset") not in SAME_EPISODE_ONSETS)


def vetoed(found: Mapping[str, str | None]) -> bool:
    return any((name, outcome) in VETOES for name, outcome in found.items()) or (
        another_episode(found))


class ModelError(ValueError):
    """A weights document that does not describe a usable model."""


def _per_class(values: Sequence[float], what: str) -> tuple[float, float, float]:
    """One value per class: scoring adds them up by position, so a weights file holding more
    or fewer would be read wrong (or fail in the middle of a scan) rather than rejected."""
    if len(values) != len(CLASSES):
        raise ModelError(f"weights: {what} needs one value per class")
    return values[0], values[1], values[2]


@dataclass(frozen=True, slots=True)
class FieldEvidence:
    """One line of the explanation a physician sees."""

    field: str
    a: str | None
    b: str | None
    outcome: str | None
    weight: float  # log2(m/u): evidence for the same case against another patient
    weight_new_event: float  # log2(m/v): against a second event in the same patient

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field, "a": self.a, "b": self.b, "outcome": self.outcome,
            "weight": round(self.weight, 2), "weight_new_event": round(self.weight_new_event, 2),
        }


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    evidence: tuple[FieldEvidence, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "probability": round(self.probability, 4),
            "explanation": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Model:
    """Log2 likelihoods per field outcome and class, class priors, and the decision threshold."""

    log_prior: tuple[float, float, float]
    log_lik: Mapping[str, Mapping[str, tuple[float, float, float]]]
    threshold: float
    provenance: str = ""
    candidates_per_case: float = 0.0  # candidates a case was compared with in calibration

    def log_scores(
        self, found: Mapping[str, str | None], candidates: float | None = None
    ) -> list[float]:
        s = list(self.log_prior)
        if candidates and self.candidates_per_case and candidates > self.candidates_per_case:
            # A case has about as many duplicates whatever the number of candidates looked at,
            # so each candidate's prior of being one shrinks as more candidates are compared.
            shift = math.log2(self.candidates_per_case / candidates)
            s[0] += shift
            s[2] += shift
        for name, outcome in found.items():
            if outcome is None:
                continue
            lik = self.log_lik[name][outcome]
            s[0] += lik[0]
            s[1] += lik[1]
            s[2] += lik[2]
        return s

    def probability(
        self, found: Mapping[str, str | None], candidates: float | None = None
    ) -> float:
        """Posterior of *duplicate*; ``candidates`` = how many cases this one was compared with.
        0 for a vetoed pair (``VETOES``)."""
        if vetoed(found):
            return 0.0
        s = self.log_scores(found, candidates)
        top = max(s)
        w: list[float] = [2.0 ** (x - top) for x in s]  # float ** float is Any to the checker
        return w[0] / sum(w)

    def score_fast(self, a: Profile, b: Profile, candidates: float | None = None) -> float:
        return self.probability(outcomes(a, b), candidates)

    def score(self, a: Profile, b: Profile, candidates: float | None = None,
              found_already: Mapping[str, str | None] | None = None) -> Score:
        """The probability with its explanation; ``found_already``: the pair's outcomes
        from ``outcomes`` (a match ranks every candidate with them first, then explains the
        best few without comparing again)."""
        evidence: list[FieldEvidence] = []
        found: dict[str, str | None] = {}
        for c in compare(a, b, found_already):
            found[c.field] = c.outcome
            if c.outcome is None:
                evidence.append(FieldEvidence(c.field, c.a, c.b, None, 0.0, 0.0))
                continue
            m, u, v = self.log_lik[c.field][c.outcome]
            evidence.append(FieldEvidence(c.field, c.a, c.b, c.outcome, m - u, m - v))
        return Score(self.probability(found, candidates), tuple(evidence))

    # --- persistence --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "provenance": self.provenance,
            "classes": list(CLASSES),
            "threshold": self.threshold,
            "candidates_per_case": round(self.candidates_per_case, 4),
            "log2_prior": [round(x, 4) for x in self.log_prior],
            "log2_likelihood": {
                f: {o: [round(x, 4) for x in v] for o, v in levels.items()}
                for f, levels in self.log_lik.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Model:
        if list(data.get("classes", [])) != list(CLASSES):
            raise ModelError(f"weights: classes must be {list(CLASSES)}")
        lik: dict[str, dict[str, tuple[float, float, float]]] = {}
        for name, (_, levels, _) in FIELDS.items():
            given = data.get("log2_likelihood", {}).get(name)
            if given is None:
                raise ModelError(f"weights: field {name!r} missing from log2_likelihood")
            missing = [lv for lv in levels if lv not in given]
            if missing:
                raise ModelError(f"weights: field {name!r} lacks outcomes {missing}")
            lik[name] = {lv: _per_class(given[lv], f"log2_likelihood {name}/{lv}")
                         for lv in levels}
        prior = _per_class(data["log2_prior"], "log2_prior")
        return cls(prior, lik, float(data["threshold"]),
                   str(data.get("provenance", "")), float(data.get("candidates_per_case", 0.0)))

    def with_threshold(self, threshold: float) -> Model:
        return Model(self.log_prior, self.log_lik, threshold, self.provenance,
                     self.candidates_per_case)

    def with_candidates_per_case(self, value: float) -> Model:
        return Model(self.log_prior, self.log_lik, self.threshold, self.provenance, value)


WEIGHTS_FILE = "weights.json"


def load_model(path: str | Path | None = None) -> Model:
    """The calibrated model shipped with the package (or one from ``path``)."""
    if path is None:
        text = resources.files("safety.dedup").joinpath(WEIGHTS_FILE).read_text()
    else:
        text = Path(path).read_text()
    return Model.from_json(json.loads(text))


def calibrate(
    labelled: Iterable[tuple[Mapping[str, str | None], str]],
    threshold: float = 0.5,
    provenance: str = "",
) -> Model:
    """Estimate m, u and v from labelled comparison outcomes (label: one of ``CLASSES``)."""
    counts = {f: {lv: [0.0, 0.0, 0.0] for lv in levels} for f, (_, levels, _) in FIELDS.items()}
    seen = {f: [0.0, 0.0, 0.0] for f in FIELDS}
    class_n = [0.0, 0.0, 0.0]
    for found, label in labelled:
        k = CLASSES.index(label)
        class_n[k] += 1
        for name, outcome in found.items():
            if outcome is None:
                continue
            counts[name][outcome][k] += 1
            seen[name][k] += 1
    if min(class_n) == 0:
        got = dict(zip(CLASSES, class_n, strict=True))
        raise ModelError(f"calibration needs pairs of every class, got {got}")
    total = sum(class_n)
    log_prior = _per_class([math.log2(n / total) for n in class_n], "log2_prior")
    log_lik: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name, levels in counts.items():
        n_levels = len(levels)
        log_lik[name] = {
            lv: _per_class([
                math.log2((c[k] + SMOOTHING) / (seen[name][k] + SMOOTHING * n_levels))
                for k in range(3)
            ], f"log2_likelihood {name}/{lv}")
            for lv, c in levels.items()
        }
    return Model(log_prior, log_lik, threshold, provenance)

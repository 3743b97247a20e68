"""Causality per event × suspect product: who said what, by which method, and what follows.

Two opinions are kept side by side, the investigator's (or primary reporter's) and the
sponsor's. Which one decides depends on the regime:

- ``sponsor``: the sponsor's determination decides, the investigator's is used only when the
  sponsor has none (21 CFR 312.32(a) "suspected adverse reaction" and (c)(1)(i): the sponsor
  determines there is a reasonable possibility).
- ``no_downgrade``: the sponsor may upgrade but never downgrade the investigator
  (Reg. (EU) 536/2014 Annex III section 2.1 paragraph 4); both opinions go in the report.
- ``implied``: spontaneous reports carry an implied causal relationship (ICH E2D section 4.1;
  GVP Module VI.B.1.1.1) unless both opinions explicitly exclude it.

An unknown or unassessable opinion is treated as related for expedited reporting, the
conservative reading of ICH E2A section III.A.1, and the explanation says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from safety.cases.model import Assessment
from safety.cases.values import NullFlavor


class Relatedness(StrEnum):
    RELATED = "related"
    NOT_RELATED = "not related"
    UNKNOWN = "unknown"


class Policy(StrEnum):
    SPONSOR = "sponsor"
    NO_DOWNGRADE = "no_downgrade"
    IMPLIED = "implied"


# WHO-UMC causality categories (Uppsala Monitoring Centre, "The use of the WHO-UMC system for
# standardised case causality assessment"). "Reasonable possibility" = certain..possible.
WHO_UMC = {
    "certain": Relatedness.RELATED,
    "probable": Relatedness.RELATED,
    "probable/likely": Relatedness.RELATED,
    "likely": Relatedness.RELATED,
    "possible": Relatedness.RELATED,
    "unlikely": Relatedness.NOT_RELATED,
    "conditional": Relatedness.UNKNOWN,
    "unclassified": Relatedness.UNKNOWN,
    "conditional/unclassified": Relatedness.UNKNOWN,
    "unassessable": Relatedness.UNKNOWN,
    "unclassifiable": Relatedness.UNKNOWN,
    "unassessable/unclassifiable": Relatedness.UNKNOWN,
}
BINARY = {
    "related": Relatedness.RELATED,
    "reasonable possibility": Relatedness.RELATED,
    "yes": Relatedness.RELATED,
    "suspected": Relatedness.RELATED,
    "definite": Relatedness.RELATED,
    "not related": Relatedness.NOT_RELATED,
    "unrelated": Relatedness.NOT_RELATED,
    "no reasonable possibility": Relatedness.NOT_RELATED,
    "no": Relatedness.NOT_RELATED,
    "doubtful": Relatedness.NOT_RELATED,
    "unknown": Relatedness.UNKNOWN,
}

# Naranjo et al., Clin Pharmacol Ther 1981;30:239-45: points for (yes, no, don't know).
NARANJO_POINTS: tuple[tuple[int, int, int], ...] = (
    (1, 0, 0),   # 1 previous conclusive reports on this reaction
    (2, -1, 0),  # 2 event appeared after the suspected drug was given
    (1, 0, 0),   # 3 improved when discontinued or a specific antagonist was given
    (2, -1, 0),  # 4 reappeared when the drug was readministered
    (-1, 2, 0),  # 5 alternative causes that could on their own have caused the reaction
    (-1, 1, 0),  # 6 reappeared when a placebo was given
    (1, 0, 0),   # 7 drug detected in blood/fluids in toxic concentrations
    (1, 0, 0),   # 8 more severe with dose increase or less severe with decrease
    (1, 0, 0),   # 9 similar reaction to the same or similar drugs in any previous exposure
    (1, 0, 0),   # 10 adverse event confirmed by objective evidence
)
NARANJO_ANSWERS = {"yes": 0, "no": 1, "unknown": 2, "dk": 2, "don't know": 2}


class CausalityError(ValueError):
    """A causality answer or result that cannot be interpreted; names the field."""


def naranjo_score(answers: list[str]) -> int:
    """Sum of the ten Naranjo answers (``yes``/``no``/``unknown``)."""
    if len(answers) != len(NARANJO_POINTS):
        raise CausalityError(f"Naranjo: expected 10 answers, got {len(answers)}")
    total = 0
    for i, (ans, points) in enumerate(zip(answers, NARANJO_POINTS, strict=True), start=1):
        key = ans.strip().lower()
        if key not in NARANJO_ANSWERS:
            raise CausalityError(f"Naranjo question {i}: answer {ans!r} is not yes/no/unknown")
        total += points[NARANJO_ANSWERS[key]]
    return total


def naranjo_category(score: int) -> str:
    if score >= 9:
        return "definite"
    if score >= 5:
        return "probable"
    if score >= 1:
        return "possible"
    return "doubtful"


def naranjo_relatedness(score: int) -> Relatedness:
    return Relatedness.NOT_RELATED if score <= 0 else Relatedness.RELATED


@dataclass(frozen=True, slots=True)
class Opinion:
    """One assessment: the method, the raw result, and the related / not-related reading."""

    relatedness: Relatedness
    method: str = ""
    result: str = ""

    def describe(self) -> str:
        detail = " ".join(x for x in (self.method, self.result) if x)
        return f"{self.relatedness.value}" + (f" ({detail})" if detail else "")


def naranjo_assessment(source: str, answers: list[str]) -> Assessment:
    """An E2B assessment (G.k.9.i.2.r) from a filled-in Naranjo questionnaire."""
    score = naranjo_score(answers)
    result = f"{score} ({naranjo_category(score)})"
    return Assessment(source=source, method="Naranjo", result=result)


def interpret(method: str, result: str) -> Relatedness:
    """Reading of a free-text method + result (E2B G.k.9.i.2.r.2/3)."""
    m, r = method.strip().lower(), result.strip().lower()
    if "naranjo" in m:
        try:
            return naranjo_relatedness(int(r.split()[0]))
        except (ValueError, IndexError):
            pass
    if r in WHO_UMC:
        return WHO_UMC[r]
    if r in BINARY:
        return BINARY[r]
    raise CausalityError(f"causality result {result!r} (method {method!r}) is not recognised")


def _text(v: object) -> str:
    return v if isinstance(v, str) and not isinstance(v, NullFlavor) else ""


def opinion_from_assessment(a: Assessment) -> Opinion:
    method, result = _text(a.method), _text(a.result)
    try:
        rel = interpret(method, result) if result else Relatedness.UNKNOWN
    except CausalityError:
        rel = Relatedness.UNKNOWN
    return Opinion(rel, method, result)


def source_role(source: str) -> str | None:
    """``investigator`` or ``sponsor`` from G.k.9.i.2.r.1, else ``None``."""
    s = source.strip().lower()
    if any(k in s for k in ("sponsor", "company", "manufacturer", "mah", "applicant")):
        return "sponsor"
    if any(k in s for k in ("investigator", "reporter", "physician", "primary source")):
        return "investigator"
    return None


@dataclass(frozen=True, slots=True)
class PairCausality:
    """Both opinions for one event × suspect pair."""

    investigator: Opinion | None = None
    sponsor: Opinion | None = None

    @classmethod
    def from_assessments(cls, assessments: list[Assessment]) -> PairCausality:
        inv: Opinion | None = None
        spo: Opinion | None = None
        for a in assessments:
            role = source_role(_text(a.source))
            op = opinion_from_assessment(a)
            if role == "sponsor":
                spo = _stronger(spo, op)
            elif role == "investigator":
                inv = _stronger(inv, op)
        return cls(inv, spo)

    @property
    def disagreement(self) -> bool:
        return (
            self.investigator is not None and self.sponsor is not None
            and self.investigator.relatedness != self.sponsor.relatedness
        )

    def decide(self, policy: Policy) -> tuple[bool, str]:
        """Related for reporting purposes under ``policy``, with the reason in words."""
        inv = self.investigator.relatedness if self.investigator else None
        spo = self.sponsor.relatedness if self.sponsor else None
        both = (f"investigator: {self.investigator.describe() if self.investigator else 'none'}"
                f"; sponsor: {self.sponsor.describe() if self.sponsor else 'none'}")
        if policy is Policy.IMPLIED:
            if inv is Relatedness.NOT_RELATED and spo is Relatedness.NOT_RELATED:
                return False, f"not related: both exclude causality ({both})"
            return True, f"related: causality implied for spontaneous reports ({both})"
        if policy is Policy.SPONSOR:
            deciding = spo if spo is not None else inv
            who = "sponsor" if spo is not None else "investigator (no sponsor assessment)"
            if deciding is None or deciding is Relatedness.UNKNOWN:
                return True, f"related: causality not assessed, treated as related ({both})"
            return deciding is Relatedness.RELATED, f"{deciding.value} per {who} ({both})"
        if inv is Relatedness.RELATED:
            note = " — sponsor may not downgrade" if spo is Relatedness.NOT_RELATED else ""
            return True, f"related per investigator{note} ({both})"
        if spo is Relatedness.RELATED:
            return True, f"related per sponsor (upgrade of investigator) ({both})"
        if inv is Relatedness.NOT_RELATED and spo in (None, Relatedness.NOT_RELATED):
            return False, f"not related ({both})"
        return True, f"related: causality unknown, treated as related ({both})"


def _stronger(old: Opinion | None, new: Opinion) -> Opinion:
    """Of two opinions by the same party, the one that keeps reporting possible wins."""
    if old is None:
        return new
    order = {Relatedness.RELATED: 2, Relatedness.UNKNOWN: 1, Relatedness.NOT_RELATED: 0}
    return new if order[new.relatedness] > order[old.relatedness] else old

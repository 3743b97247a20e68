"""Does a message answer the obligation it is drafted for? The registry's numbers, and the
mismatches that keep a message from being approved.

An obligation names a regime (``safety/rules/regimes``): its scope says whether the report is
a clinical-trial report (an IND safety report, a SUSAR) or a post-marketing one, and that
decides where the message must go and what it must carry:

- FDA, clinical trial (21 CFR 312.32(c)): an IND safety report goes to the pre-market route
  (ZZFDA_PREMKT, CDER_IND; ``fda-premarket``) and carries the IND number under which the
  event occurred (FDA.C.5.5a; FDA rejection rules R0004–R0007, R0024); the other INDs of the
  study are the cross-reported INDs (FDA.C.5.6.r).
- FDA, post-marketing (21 CFR 314.80(c)(1)): a 15-day Alert report goes to the post-market
  route (ZZFDA, CDER; ``fda-postmarket``).
- EU, clinical trial (Regulation (EU) No 536/2014 Art. 42): a SUSAR goes to the
  EudraVigilance clinical-trial module (EVCTMPROD; ``ema-ct``), which takes reports from
  interventional trials only (C.1.3 = 2, C.5.4 = 1; EU ICSR Implementation Guide, N.2.r.3).
- EU, post-marketing (GVP Module VI.C.4): the post-authorisation module (EVHUMAN; ``ema``).
- MHRA and Health Canada: the sponsor's configured gateway (no receiver in the tables we hold).

The IND numbers are registry facts, not case facts (``safety.products.registry``): a site form
often carries none, and a number the site typed is checked against the registry. The registry
wins: a number it does not list is replaced, and the note says so.

Plain data in, plain data out: the drafting service loads the registry and the regime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safety.cases.model import CaseVersionData, Study, copied
from safety.cases.values import NullFlavor
from safety.products.registry import Registry, Status

CLINICAL_TRIAL = "clinical_trial"
POST_MARKETING = "post_marketing"

# (region, regime scope) -> the destinations.json keys a conformant message may go to, and
# what the route is called where a person reads it.
ROUTES: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("fda", CLINICAL_TRIAL): (frozenset({"fda-premarket", "fda-premarket-babe"}),
                              "the FDA pre-market route for IND safety reports "
                              "(ZZFDA_PREMKT/CDER_IND, 21 CFR 312.32)"),
    ("fda", POST_MARKETING): (frozenset({"fda-postmarket"}),
                              "the FDA post-market route (ZZFDA/CDER, 21 CFR 314.80)"),
    ("ema", CLINICAL_TRIAL): (frozenset({"ema-ct"}),
                              "the EudraVigilance clinical-trial module (EVCTMPROD, "
                              "Regulation (EU) No 536/2014 Art. 42)"),
    ("ema", POST_MARKETING): (frozenset({"ema"}),
                              "the EudraVigilance post-authorisation module (EVHUMAN, "
                              "GVP Module VI.C.4)"),
}
ROUTE_NAMES = {
    "fda-premarket": "the FDA pre-market route (IND safety report)",
    "fda-premarket-babe": "the FDA pre-market route (IND-exempt BA/BE)",
    "fda-postmarket": "the FDA post-market route (postmarketing report to CDER)",
    "ema-ct": "the EudraVigilance clinical-trial module",
    "ema": "the EudraVigilance post-authorisation module",
}
US = "US"


@dataclass(frozen=True)
class Obligation:
    """What the message answers: the obligation's regulator, regime and report type."""

    destination: str  # the regulator, as the obligation names it
    regime: str
    scope: str | None  # the regime's scope; None when the regime is not known
    report_type: str


@dataclass(frozen=True)
class Finding:
    element: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """As a conformance finding of the stored message (``severity`` error: it blocks)."""
        return {"element": self.element, "xpath": "-", "rule": "obligation",
                "message": self.message, "severity": "error"}


def normalise_ind(number: str) -> str:
    """An IND number as FDA.C.5.5a carries it: the digits, without an "IND" prefix."""
    return re.sub(r"^\s*IND[\s#:-]*", "", number, flags=re.IGNORECASE).strip()


def registry_inds(registry: Registry, data: CaseVersionData) -> tuple[str, ...]:
    """The IND numbers the registry holds for the case: its study's, else those of the US
    investigational status of its suspect products."""
    protocol = data.study.sponsor_study_number if data.study is not None else None
    study = registry.studies.get(protocol) if isinstance(protocol, str) else None
    numbers: list[str] = []
    if study is not None:
        numbers += [normalise_ind(n) for n in study.ind_numbers]
    if not numbers:
        for drug in data.suspect_drugs():
            product = registry.match_drug(drug)
            if product is None:
                continue
            for s in product.statuses:
                if s.jurisdiction == US and s.status is Status.INVESTIGATIONAL:
                    numbers += [normalise_ind(n) for n in s.numbers]
    return tuple(dict.fromkeys(n for n in numbers if n))


def with_registry_numbers(data: CaseVersionData, ob: Obligation, region: str,
                          registry: Registry) -> tuple[CaseVersionData, list[str]]:
    """The case as the message must carry it for ``ob``: for an IND safety report, the IND
    number (FDA.C.5.5a) and the cross-reported INDs (FDA.C.5.6.r) from the registry. The
    notes say what was taken from the registry and what it replaced."""
    if region != "fda" or ob.scope != CLINICAL_TRIAL:
        return data, []
    inds = registry_inds(registry, data)
    if not inds:
        return data, []
    out = copied(data)
    notes: list[str] = []
    if out.study is None:
        out.study = Study()
    study = out.study
    given = study.fda_ind_number
    given_text = (normalise_ind(given) if isinstance(given, str)
                  and not isinstance(given, NullFlavor) else None)
    if given_text in inds:
        chosen = given_text
    else:
        chosen = inds[0]
        notes.append(
            f"FDA.C.5.5a IND {chosen} from the registry"
            + (f" (the report said {given!s}, which the registry does not list for this "
               "study)" if given is not None else ""))
    study.fda_ind_number = chosen
    others = [n for n in inds if n != chosen]
    if others and not [n for n in study.fda_cross_reported_inds if isinstance(n, str)]:
        study.fda_cross_reported_inds = list(others)
        notes.append("FDA.C.5.6.r cross-reported IND(s) " + ", ".join(others)
                     + " from the registry")
    return out, notes


def mismatches(ob: Obligation, region: str, destination: str | None,
               data: CaseVersionData) -> list[Finding]:
    """Why the message (its destination key and the case it carries) does not answer the
    obligation; empty when it does."""
    out: list[Finding] = []
    if ob.scope is None:
        return [Finding("N.2.r.3", f"the obligation's regime {ob.regime!r} is not known, so "
                                   "nobody can tell where its report must go")]
    expected = ROUTES.get((region, ob.scope))
    if expected is None or destination is None:
        return out  # a gateway-configured regulator (MHRA, Health Canada): route() decides
    allowed, route_name = expected
    if destination not in allowed:
        out.append(Finding(
            "N.2.r.3",
            f"the {ob.destination} obligation is a {ob.report_type} (regime {ob.regime}) "
            f"owed through {route_name}, but the message is built for "
            f"{ROUTE_NAMES.get(destination, destination)}"
            + _why_route(region, ob, data)))
    if region == "fda" and ob.scope == CLINICAL_TRIAL:
        ind = data.study.fda_ind_number if data.study is not None else None
        if not isinstance(ind, str) or isinstance(ind, NullFlavor) or not ind.strip():
            protocol = data.study.sponsor_study_number if data.study is not None else None
            out.append(Finding(
                "FDA.C.5.5a",
                f"the {ob.report_type} must carry the IND number under which the event "
                "occurred, and none is known"
                + (f" for study {protocol}" if isinstance(protocol, str) else "")
                + ": add it to the study (or the product's US investigational status) in "
                "the registry (`safety products import` or POST /api/v1/products)"))
    return out


def _why_route(region: str, ob: Obligation, data: CaseVersionData) -> str:
    study = data.study
    if region == "fda" and ob.scope == CLINICAL_TRIAL:
        return ("; it carries no IND number (FDA.C.5.5a), and the registry gives none for "
                "this case")
    if region == "fda":
        return ("; the case carries an IND number (FDA.C.5.5a "
                f"{study.fda_ind_number if study is not None else ''}) that sends it to the "
                "pre-market route: check the case's report type and study")
    if ob.scope == CLINICAL_TRIAL:
        return ("; the clinical-trial module takes reports from interventional trials "
                "only: C.1.3 must be 2 (report from study) and C.5.4 must be 1 "
                f"(clinical trial), the case has C.1.3 {data.admin.report_type or 'empty'} "
                f"and C.5.4 {study.study_type if study is not None else 'empty'}")
    return ""

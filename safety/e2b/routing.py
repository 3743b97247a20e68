"""Which E2B destination (receiver set and conformance profile) a case goes to in a region.

EU: ICSRs from interventional clinical trials (SUSARs: C.1.3 = 2 "report from study" with
C.5.4 = 1 "clinical trials") go to the clinical-trial module (EVCTMPROD); all other ICSRs go to
the post-authorisation module (EVHUMAN) — EU ICSR Implementation Guide, N.2.r.3.
FDA: reports under an IND or a pre-ANDA (FDA.C.5.5a/b present) go to the pre-market route
(ZZFDA_PREMKT; CDER_IND, or CDER_IND_EXEMPT_BA_BE for BA/BE studies with a pre-ANDA); all
others to the post-market route (ZZFDA/CDER) — FDA rejection rules R0004–R0007, R0024, R0025.
"""

from __future__ import annotations

from safety.cases.model import CaseVersionData

REGIONS = ("fda", "ema")


class RoutingError(ValueError):
    """A region this module cannot route to."""


def destination(region: str, case: CaseVersionData) -> str:
    """The key of ``data/destinations.json`` for ``case`` in ``region``."""
    study = case.study
    if region == "ema":
        in_trial = (case.admin.report_type == "2" and study is not None
                    and study.study_type == "1")
        return "ema-ct" if in_trial else "ema"
    if region == "fda":
        if study is not None and study.fda_pre_anda_number is not None:
            return "fda-premarket-babe"
        if study is not None and study.fda_ind_number is not None:
            return "fda-premarket"
        return "fda-postmarket"
    raise RoutingError(f"no E2B routing for region {region!r}; known: {', '.join(REGIONS)}")

"""Who an output is for, and whether it may carry the treatment a subject received.

The blind is kept for everyone who runs or oversees the trial day to day and broken only for
those who must judge the case on the truth:

* **regulator**: a SUSAR is reported unblinded (EU CTR Regulation (EU) 536/2014 Annex III
  section 2.5 "... the sponsor should break the blind ... before submitting"; ICH E2A III.C.2 "it
  is advisable to break the blind for the specific patient"; FDA, Safety Reporting Requirements
  for INDs and BA/BE Studies (2012) section V.A.3: the sponsor should unblind before reporting);
* **DSMB**: an independent committee that may see unblinded data (ICH E9 4.5, FDA DMC guidance
  2006 section 4.2) - it may, it is not required to;
* **ethics committee, investigator, study team**: keep the blind (CT-3 2011/C 172/01 section
  7.6 point 111; ICH E2A III.C.2 "the blind should be maintained for those persons ... responsible
  for the ongoing conduct of the study").
"""

from __future__ import annotations

from enum import StrEnum


class Audience(StrEnum):
    REGULATOR = "regulator"
    ETHICS_COMMITTEE = "ethics_committee"
    INVESTIGATOR = "investigator"
    STUDY_TEAM = "study_team"
    DSMB = "dsmb"


# Whether an output for this audience may show the subject's actual treatment.
MAY_BE_UNBLINDED: dict[Audience, bool] = {
    Audience.REGULATOR: True,  # EU CTR Annex III 2.5; ICH E2A III.C.2; FDA 2012 V.A.3
    Audience.DSMB: True,  # ICH E9 4.5; FDA DMC guidance 2006 4.2
    Audience.ETHICS_COMMITTEE: False,  # CT-3 7.6 (111); ICH E2A III.C.2
    Audience.INVESTIGATOR: False,  # ICH E2A III.C.2
    Audience.STUDY_TEAM: False,  # ICH E2A III.C.2
}


class BlindingError(ValueError):
    """An output was asked for that would break the blind for its audience."""


def parse_audience(name: str) -> Audience:
    try:
        return Audience(name)
    except ValueError:
        raise BlindingError(f"audience: unknown {name!r}; use one of "
                            f"{', '.join(a.value for a in Audience)}") from None


def check_output(audience: Audience, unblinded: bool) -> None:
    """Refuse an unblinded document for an audience that must stay blind."""
    if unblinded and not MAY_BE_UNBLINDED[audience]:
        raise BlindingError(f"audience: {audience.value} must stay blind; an unblinded "
                            "document may not be produced for it")

"""Read → write → read is the identity on clinical content, for generated ICSRs.

The ICSRs come from ``factories.icsr.icsrs``: values drawn from the ICH/FDA element tables
(code lists, null flavours, lengths, partial dates of every precision, repeats 0..3) for the
elements listed in ``factories.icsr.FIELDS``: C.1.3, C.1.4, C.1.5, C.1.7, C.1.8.2, FDA.C.1.12;
C.2.r.1.2, C.2.r.1.4, C.2.r.2.1, C.2.r.2.4, C.2.r.3, C.2.r.4; D.1, D.2.1, D.2.3, D.3, D.4,
D.5, D.6, D.7.2, FDA.D.12, D.7.1.r.2-5; E.i.1.1a, E.i.3.1, E.i.3.2a-f, FDA.E.i.3.2h, E.i.4,
E.i.5, E.i.7, E.i.8, E.i.9; F.r.1, F.r.2.1, F.r.3.1, F.r.3.4, F.r.6, F.r.7; G.k.1, G.k.2.2,
G.k.2.4, G.k.2.5, G.k.3.1-3, G.k.8, G.k.11, G.k.4.r.4, G.k.4.r.5, G.k.4.r.7, G.k.4.r.8,
G.k.4.r.10.1, G.k.9.i.1, G.k.9.i.2.r.1-3, G.k.9.i.4; H.1, H.2, H.4; ICH code list versions.
Each is written for FDA postmarket (which carries the FDA elements too) and for ICH (without
them), read, and the case read must be the case generated (drug-reaction links compared as a
set); writing it again gives the same clinical values.
"""

from __future__ import annotations

import copy

import pytest
from factories.icsr import icsrs
from hypothesis import HealthCheck, given, settings

from safety.cases.codec import case_to_json
from safety.cases.model import CaseVersionData
from safety.e2b.canonical import batch_clinical_values
from safety.e2b.reader import read_batch
from safety.e2b.writer import ExportHeader, build_batch, serialise


def flat(data: object, path: str = "") -> dict[str, object]:
    if isinstance(data, dict):
        return {k: v for key, item in data.items() for k, v in flat(item, f"{path}.{key}").items()}
    if isinstance(data, list):
        return {k: v for i, item in enumerate(data) for k, v in flat(item, f"{path}[{i}]").items()}
    return {path: data}


def normalised(case: CaseVersionData) -> CaseVersionData:
    """The case with each drug's reaction links (G.k.9.i) ordered by reaction: a link is
    keyed by its reaction (G.k.9.i.1), its position means nothing."""
    out = copy.deepcopy(case)
    for drug in out.drugs:
        drug.reactions.sort(key=lambda link: link.reaction_id)
    return out


def changed(a: CaseVersionData, b: CaseVersionData) -> dict[str, tuple[object, object]]:
    """The JSON paths whose values differ between two cases (for a readable failure)."""
    fa, fb = flat(case_to_json(normalised(a))), flat(case_to_json(normalised(b)))
    return {k: (fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}


def without_fda(case: CaseVersionData) -> CaseVersionData:
    """The case without the FDA regional elements the strategy draws (not sent elsewhere)."""
    case.admin.fda_combination_product = None
    case.patient.fda_ethnicity = None
    for r in case.reactions:
        r.seriousness.required_intervention = None
    return case


@pytest.mark.parametrize("destination", ["fda-postmarket", "ich"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=icsrs())
def test_read_write_read_is_the_identity(destination: str, case: CaseVersionData) -> None:
    if not destination.startswith("fda"):
        case = without_fda(case)
    header = ExportHeader(sender_id="SD", destination=destination)
    first = serialise(build_batch([case], header))
    read = read_batch(first)[0].case
    assert changed(case, read) == {}
    assert normalised(read) == normalised(case)
    second = serialise(build_batch([read], header))
    assert batch_clinical_values(second) == batch_clinical_values(first)

"""Read → write → read is the identity on clinical content, for generated ICSRs.

The ICSRs come from ``factories.icsr.icsrs``: every element of ``safety.e2b.elements.FIELDS``
(all ICH and FDA elements the product keeps: MedDRA terms with versions, C.1.6/C.1.9/C.1.10,
C.4 literature, C.5 study with the FDA study elements, D.8-D.10, FDA.D.11, substances and
strengths, quantities and intervals with their units, FDA.G.k.12 devices, H.3, H.5, ...) drawn
from its row of the element tables (code lists, null flavours, lengths, partial dates of every
precision, repeats). Each is written for FDA postmarket (which carries the FDA elements too)
and for ICH (without them), read, and the case read must be the case generated (drug-reaction
links compared as a set); writing it again gives the same clinical values. What is written
has no structure finding (the writer is strict).
"""

from __future__ import annotations

import copy

import pytest
from factories.icsr import icsrs, without_fda
from hypothesis import HealthCheck, given, settings

from safety.cases.codec import case_to_json
from safety.cases.model import CaseVersionData
from safety.e2b.canonical import batch_clinical_values
from safety.e2b.conformance import check
from safety.e2b.reader import read_batch
from safety.e2b.writer import ExportHeader, build_batch, serialise


def flat(data: object, path: str = "") -> dict[str, object]:
    if isinstance(data, dict | list) and not data:
        return {path: data}
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


@pytest.mark.parametrize("destination", ["fda-postmarket", "ich"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=icsrs())
def test_read_write_read_is_the_identity(destination: str, case: CaseVersionData) -> None:
    if not destination.startswith("fda"):
        case = without_fda(case)
    header = ExportHeader(sender_id="SD", destination=destination)
    first = serialise(build_batch([case], header))
    # the writer is strict: every element stands where the structure model allows it
    shape = ("structure", "order", "datatype")
    assert [f for f in check(first, header.profile) if f.rule in shape] == []
    read = read_batch(first)[0].case
    assert changed(case, read) == {}
    assert normalised(read) == normalised(case)
    second = serialise(build_batch([read], header))
    assert batch_clinical_values(second) == batch_clinical_values(first)

from __future__ import annotations

from factories.dedup import make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.cases.versioning import IdIndex, followup_of, identity, link


def _index(**cases: object) -> IdIndex:
    index = IdIndex()
    for case_id, case in cases.items():
        index.add(case_id, identity(case))  # type: ignore[arg-type]
    return index


def test_same_sender_and_case_id_is_a_followup() -> None:
    index = _index(c1=make_case())
    links = index.link(identity(make_case(onset="2024-02-11")))
    assert [(lk.case_id, lk.relation, lk.rule) for lk in links] == [
        ("c1", "followup", "sender_case_id")]


def test_same_case_id_from_another_sender_is_not_linked() -> None:
    index = _index(c1=make_case(sender="Delta Health", report_id="2024-0128"))
    incoming = make_case(sender="Orion Clinic Network", report_id="2024-0128")
    assert index.link(identity(incoming)) == []


def test_worldwide_id_links_a_forward_to_the_original_case() -> None:
    index = _index(c1=make_case(report_id="FR-ACME-2024-000777"))
    forward = make_case(sender="ANSM", report_id="FR-ANSM-2024-123",
                        worldwide="FR-ACME-2024-000777")
    (lk,) = index.link(identity(forward))
    assert (lk.case_id, lk.relation, lk.rule) == ("c1", "followup", "worldwide_case_id")


def test_bare_serial_worldwide_id_does_not_cross_match_case_ids() -> None:
    index = _index(c1=make_case(sender="Delta Health", report_id="2024-0128"))
    other = make_case(sender="ANSM", report_id="FR-ANSM-1", worldwide="2024-0128")
    assert index.link(identity(other)) == []


def test_citation_by_another_sender_is_a_near_certain_duplicate() -> None:
    index = _index(c1=make_case(sender="Acme Pharma", report_id="FR-ACME-2024-000001"))
    citing = make_case(sender="MHRA", report_id="GB-MHRA-77",
                       cites=[("Acme Pharma", "FR-ACME-2024-000001")])
    (lk,) = index.link(identity(citing))
    assert (lk.relation, lk.rule) == ("duplicate", "other_case_id")
    assert 0.9 < lk.score < 1.0


def test_citation_by_the_same_sender_is_a_followup() -> None:
    index = _index(c1=make_case(sender="Acme Pharma", report_id="FR-ACME-2024-000001"))
    renumbered = make_case(sender="Acme Pharma", report_id="FR-ACME-2024-000999",
                           cites=[("Acme Pharma", "FR-ACME-2024-000001")])
    assert followup_of(identity(renumbered), index.candidates(identity(renumbered))) == "c1"


def test_existing_case_citing_the_incoming_id_links_too() -> None:
    index = _index(c1=make_case(sender="MHRA", report_id="GB-MHRA-77",
                                cites=[("Acme Pharma", "FR-ACME-2024-000001")]))
    (lk,) = index.link(identity(make_case(sender="Acme Pharma",
                                          report_id="FR-ACME-2024-000001")))
    assert (lk.case_id, lk.relation) == ("c1", "duplicate")


def test_linked_report_id_without_source() -> None:
    index = _index(c1=make_case(report_id="FR-ACME-2024-000001"))
    other = make_case(sender="Borealis", report_id="X-1", linked=["fr-acme-2024-000001"])
    (lk,) = index.link(identity(other))
    assert (lk.rule, lk.relation) == ("linked_report_id", "duplicate")


def test_unrelated_reports_do_not_link() -> None:
    a = identity(make_case(report_id="FR-ACME-2024-000001"))
    b = identity(make_case(report_id="FR-ACME-2024-000002"))
    assert link(b, [("a", a)]) == []


_ids = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=3, max_size=12)


@settings(deadline=None)
@given(_ids, st.sampled_from([str.lower, str.upper, lambda s: f"  {s} ",
                              lambda s: "-".join(s)]))
def test_followup_survives_id_formatting(case_id: str, fmt: object) -> None:
    index = _index(c1=make_case(report_id=case_id))
    incoming = make_case(report_id=fmt(case_id))  # type: ignore[operator]
    links = index.link(identity(incoming))
    assert links and links[0].case_id == "c1" and links[0].relation == "followup"


@settings(deadline=None)
@given(_ids, _ids)
def test_different_sender_ids_never_link_by_sender_rule(a: str, b: str) -> None:
    index = _index(c1=make_case(report_id=a))
    links = index.link(identity(make_case(report_id=b)))
    assert bool(links) == (a == b)

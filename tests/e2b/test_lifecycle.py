"""Follow-up, amendment and nullification semantics (C.1.5, C.1.8.1, C.1.11)."""

from __future__ import annotations

import pytest

from safety.cases.values import PartialDate
from safety.e2b.export import export_case
from safety.e2b.lifecycle import LifecycleError, ReportKind, is_final, prepare
from safety.e2b.reader import read_batch
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader


def initial():
    return prepare(None, sample_case(), ReportKind.INITIAL)


def test_follow_up_keeps_worldwide_id_and_moves_c15() -> None:
    first = initial()
    update = sample_case()
    update.admin.worldwide_case_id = None
    fu = prepare(first, update, ReportKind.FOLLOW_UP, most_recent=PartialDate(2026, 11, 2))
    assert fu.admin.worldwide_case_id == first.admin.worldwide_case_id
    assert fu.admin.most_recent_received == PartialDate(2026, 11, 2)
    assert fu.admin.nullification_code is None
    xml = export_case(fu, ExportHeader(sender_id="SD", destination="ema")).xml
    back = read_batch(xml)[0].case
    assert back.admin.most_recent_received == PartialDate(2026, 11, 2)


def test_follow_up_must_bring_a_later_date_and_the_same_id() -> None:
    first = initial()
    with pytest.raises(LifecycleError, match=r"C\.1\.5"):
        prepare(first, sample_case(), ReportKind.FOLLOW_UP,
                most_recent=first.admin.most_recent_received)
    other = sample_case()
    other.admin.worldwide_case_id = "US-OTHER-1"
    with pytest.raises(LifecycleError, match=r"C\.1\.8\.1"):
        prepare(first, other, ReportKind.FOLLOW_UP, most_recent=PartialDate(2026, 12, 1))


def test_amendment_keeps_c15_and_needs_reason() -> None:
    first = initial()
    changed = sample_case()
    changed.admin.most_recent_received = PartialDate(2026, 11, 30)
    with pytest.raises(LifecycleError, match=r"C\.1\.11\.2"):
        prepare(first, changed, ReportKind.AMENDMENT)
    am = prepare(first, changed, ReportKind.AMENDMENT, reason="corrected dose unit")
    assert am.admin.most_recent_received == first.admin.most_recent_received
    assert am.admin.nullification_code == "2"
    result = export_case(am, ExportHeader(sender_id="SD", destination="ema"))
    assert result.ready


def test_nullification_needs_reason_and_is_final() -> None:
    first = initial()
    with pytest.raises(LifecycleError, match=r"C\.1\.11\.2"):
        prepare(first, sample_case(), ReportKind.NULLIFICATION, reason="  ")
    null = prepare(first, sample_case(), ReportKind.NULLIFICATION, reason="duplicate of US-X-9")
    assert is_final(null) and null.admin.nullification_reason == "duplicate of US-X-9"
    assert export_case(null, ExportHeader(sender_id="SD", destination="ema")).ready
    for kind in (ReportKind.FOLLOW_UP, ReportKind.AMENDMENT, ReportKind.NULLIFICATION):
        with pytest.raises(LifecycleError, match="nullified"):
            prepare(null, sample_case(), kind, most_recent=PartialDate(2027, 1, 1),
                    reason="again")


def test_initial_cannot_follow_and_others_need_previous() -> None:
    with pytest.raises(LifecycleError):
        prepare(initial(), sample_case(), ReportKind.INITIAL)
    with pytest.raises(LifecycleError):
        prepare(None, sample_case(), ReportKind.FOLLOW_UP, most_recent=PartialDate(2027))


def test_routing_by_region_and_obligation() -> None:
    from factories.e2b import example

    from safety.e2b.reader import read_batch as rb
    from safety.e2b.routing import RoutingError, destination

    assert destination("fda", sample_case()) == "fda-postmarket"
    assert destination("ema", sample_case()) == "ema"
    ind = rb(example("FAERS2022Scenario3.xml"))[0].case
    babe = rb(example("FAERS2022Scenario5-1.xml"))[0].case
    assert destination("fda", ind) == "fda-premarket"
    assert destination("fda", babe) == "fda-premarket-babe"
    assert destination("ema", ind) == "ema-ct"
    with pytest.raises(RoutingError):
        destination("pmda", ind)


def test_export_result_carries_the_ids_for_tracking() -> None:
    result = export_case(sample_case(), ExportHeader(sender_id="SD", destination="fda-postmarket"))
    back = read_batch(result.xml)[0].header
    assert back.batch_id == result.batch_id and back.message_id == result.message_ids[0]
    assert (result.batch_receiver, result.message_receiver) == ("ZZFDA", "CDER")


def test_the_fda_report_type_is_ours_like_c17_not_the_partners() -> None:
    """Issue 14: FAERS2022Scenario7 (C.1.7 false, FDA.C.1.7.1 5 = 30-day, C.1.12 true),
    imported and sent by us as a 15-day report, kept the partner's 30-day type and broke FDA
    rule R0012 (C.1.7 true and C.1.12 true need FDA.C.1.7.1 1 or 4)."""
    from datetime import UTC, datetime

    from factories.e2b import example

    from safety.submissions.prepare import prepare

    case = read_batch(example("FAERS2022Scenario7.xml"))[0].case
    assert case.admin.fda_local_criteria_report_type == "5"
    sent = prepare(case, region="fda", days=15, sender=None, now=datetime.now(UTC)).case
    assert sent.admin.fulfils_expedited is True
    assert sent.admin.fda_local_criteria_report_type == "1"
    periodic = prepare(case, region="fda", days=None, sender=None, now=datetime.now(UTC)).case
    assert periodic.admin.fda_local_criteria_report_type == "2"

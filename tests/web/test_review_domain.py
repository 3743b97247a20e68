"""The pure review domain: state machine, roles, diffs, signature binding, charts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safety.accounts.roles import Role, RoleError, check_site_scope, parse_role
from safety.cases.workflow import (
    BY_NAME,
    OPEN_STATES,
    TRANSITIONS,
    CaseState,
    PipelineStatus,
    ReviewFacts,
    TransitionError,
    options,
    plan,
)
from safety.review import diff, signing
from safety.web.charts import bar_chart

facts_strategy = st.builds(
    ReviewFacts,
    state=st.sampled_from([s.value for s in CaseState]),
    current_version=st.integers(1, 5),
    signed_version=st.none() | st.integers(1, 5),
    unconfirmed_coding=st.none() | st.integers(0, 3),
    open_duplicates=st.none() | st.integers(0, 3),
    conformance_errors=st.none() | st.integers(0, 3),
    reactions=st.none() | st.integers(0, 3),
    open_obligations=st.none() | st.integers(0, 3),
    pipeline=st.none() | st.sampled_from(list(PipelineStatus)),
)


@given(facts_strategy, st.sampled_from(list(Role)), st.sampled_from(sorted(BY_NAME)),
       st.none() | st.text(max_size=5))
def test_plan_only_ever_allows_a_declared_edge(facts, role, name, reason):
    try:
        change = plan(facts, role, name, reason, via_signature=True)
    except TransitionError as exc:
        assert str(exc)  # every refusal says why
        return
    t = BY_NAME[name]
    assert CaseState(change.from_state) in t.sources and change.to_state == t.target.value
    assert not (t.reason_required and not (reason or "").strip())
    assert change.from_state not in ("closed", "nullified") or name == "reopen"
    if name == "approve":
        assert role is Role.SAFETY_PHYSICIAN and facts.has_valid_signature


@given(facts_strategy)
def test_nullified_is_terminal_and_site_users_never_move_cases(facts):
    for role in Role:
        for opt in options(facts, role):
            assert CaseState(facts.state) is not CaseState.NULLIFIED
            assert role is not Role.SITE_SUBMITTER, opt


KNOWN = {"pipeline": PipelineStatus.DONE, "unconfirmed_coding": 0, "open_duplicates": 0,
         "conformance_errors": 0, "reactions": 1, "open_obligations": 0}


def test_guards_block_with_specific_reasons():
    base = ReviewFacts(state="approval", current_version=2, signed_version=1, **KNOWN)
    with pytest.raises(TransitionError, match="binds to version 1 but the case is now version 2"):
        plan(base, Role.SAFETY_PHYSICIAN, "approve", None, via_signature=True)
    ok = ReviewFacts(state="approval", current_version=2, signed_version=2, **KNOWN)
    assert plan(ok, Role.SAFETY_PHYSICIAN, "approve", None, via_signature=True).to_state == \
        "submission"
    blocked = ReviewFacts(state="approval", current_version=2, signed_version=2,
                          **{**KNOWN, "unconfirmed_coding": 2, "conformance_errors": 1})
    with pytest.raises(TransitionError, match=r"2 coded term.*1 error\(s\) that block approval"):
        plan(blocked, Role.SAFETY_PHYSICIAN, "approve", None, via_signature=True)
    named = ReviewFacts(state="approval", current_version=2, signed_version=2,
                        **{**KNOWN, "conformance_errors": 1},
                        message_errors=("MHRA: N.2.r.3 no gateway identifiers for mhra",))
    with pytest.raises(TransitionError, match=r"block approval: MHRA: N\.2\.r\.3 no gateway"):
        plan(named, Role.SAFETY_PHYSICIAN, "approve", None, via_signature=True)
    with pytest.raises(TransitionError, match="no adverse event"):
        plan(ReviewFacts(state="data_entry", current_version=1, **{**KNOWN, "reactions": 0}),
             Role.CASE_PROCESSOR, "send_to_medical_review", None)


@pytest.mark.parametrize("missing", sorted(KNOWN))
def test_an_unknown_fact_blocks_what_depends_on_it(missing):
    """Fail closed: a stage result nobody could establish never lets a case through."""
    facts = ReviewFacts(state="approval", current_version=1, signed_version=1,
                        **{**KNOWN, missing: None})
    if missing == "open_obligations":  # only closing depends on it
        facts = ReviewFacts(state="submission", current_version=1, signed_version=1,
                            **{**KNOWN, missing: None})
        with pytest.raises(TransitionError, match="not known yet"):
            plan(facts, Role.SAFETY_PHYSICIAN, "close", None)
        return
    with pytest.raises(TransitionError, match=r"not known|not drafted|still being processed"):
        plan(facts, Role.SAFETY_PHYSICIAN, "approve", None, via_signature=True)


@pytest.mark.parametrize("pipeline", [PipelineStatus.PENDING, PipelineStatus.FAILED])
def test_a_version_whose_processing_is_pending_or_failed_cannot_be_signed(pipeline):
    facts = ReviewFacts(state="approval", current_version=3, signed_version=3,
                        **{**KNOWN, "pipeline": pipeline,
                           "pipeline_detail": "stage rules: boom"})
    with pytest.raises(TransitionError, match=r"version 3 .*(still being processed|failed)"):
        plan(facts, Role.SAFETY_PHYSICIAN, "approve", None, via_signature=True)
    for name in ("medical_review_done", "close"):
        state = "medical_review" if name == "medical_review_done" else "submission"
        with pytest.raises(TransitionError, match=r"processing|processed"):
            plan(ReviewFacts(state=state, current_version=3, signed_version=3,
                             **{**KNOWN, "pipeline": pipeline}),
                 Role.SAFETY_PHYSICIAN, name, None)


def test_system_transitions_are_not_offered_to_users():
    closed = ReviewFacts(state="closed", current_version=1, **KNOWN)
    names = {o.transition.name for role in Role for o in options(closed, role)}
    assert names == {"reopen"}
    with pytest.raises(TransitionError, match="made by the system only"):
        plan(closed, Role.SAFETY_PHYSICIAN, "reopen_for_follow_up", "x")


def test_every_state_is_reachable_from_intake():
    seen, todo = {CaseState.INTAKE}, [CaseState.INTAKE]
    while todo:
        s = todo.pop()
        for t in TRANSITIONS:
            if s in t.sources and t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    assert seen == set(CaseState)
    assert CaseState.CLOSED not in OPEN_STATES


def test_roles_and_site_scope():
    assert parse_role("admin") is Role.ADMIN
    with pytest.raises(RoleError, match="unknown role 'doctor'"):
        parse_role("doctor")
    with pytest.raises(RoleError, match="needs a site"):
        check_site_scope(Role.SITE_SUBMITTER, None)
    with pytest.raises(RoleError, match="do not attach a site"):
        check_site_scope(Role.SAFETY_PHYSICIAN, 3)


def test_diff_labels_code_values_and_ignores_ids():
    a = {"patient": {"sex": "2"}, "reactions": [{"id": "x", "verbatim": "rash"}],
         "drugs": [{"id": "d1", "name": "aspirin", "role": "1"}]}
    b = {"patient": {"sex": "1", "weight_kg": 70.0},
         "reactions": [{"id": "y", "verbatim": "rash", "outcome": "5"}],
         "drugs": [{"id": "d2", "name": "aspirin", "role": "2"}]}
    got = {(c.label, c.before, c.after, c.kind) for c in diff.changes(a, b)}
    assert got == {
        ("Patient › Sex", "female (2)", "male (1)", "changed"),
        ("Patient › Weight (kg)", None, "70", "added"),
        ("Event 1 (rash) › Outcome", None, "fatal (5)", "added"),
        ("Drug 1 (aspirin) › Role", "suspect (1)", "concomitant (2)", "changed"),
    }
    assert diff.changes(a, a) == []
    assert diff.display("initials", {"nullFlavor": "MSK"}) == "(null flavour MSK)"


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4),
                    lambda c: st.lists(c, max_size=3)
                    | st.dictionaries(st.text(max_size=3), c, max_size=3), max_leaves=12))
def test_diff_of_anything_with_itself_is_empty(doc):
    assert diff.changes({"x": doc}, {"x": doc}) == []


def _manifest(**kw):
    base = dict(case_id="c", case_number="2026-1", version=1,
                data_sha256=signing.content_hash({"a": 1}), message_sha256=None, signer_id=1,
                signer_email="d@x", printed_name="Dr D", meaning=signing.APPROVAL_MEANING,
                signed_at_utc=datetime(2026, 7, 1, 12, 0, tzinfo=UTC), local_zone="Europe/Paris")
    base.update(kw)
    return signing.Manifest(**base)


def test_signature_binds_version_content_and_manifest():
    m = _manifest()
    assert m.signed_at_local.isoformat() == "2026-07-01T14:00:00+02:00"
    h = signing.content_hash({"a": 1})
    assert signing.content_hash({"a": 1}) == signing.content_hash(dict([("a", 1)]))
    ok = signing.status(1, h, m.sha256(), m, 1, h)
    assert ok.valid
    assert not signing.status(1, h, m.sha256(), m, 2, h).valid
    assert "content has changed" in signing.status(1, h, m.sha256(), m, 1, "0" * 64).reason
    tampered = _manifest(printed_name="Someone Else")
    assert "manifest hash" in signing.status(1, h, m.sha256(), tampered, 1, h).reason
    assert signing.local_zone("Mars/Olympus", "UTC") == "UTC"
    assert signing.local_zone("Asia/Tokyo", "UTC") == "Asia/Tokyo"


def test_bar_chart_escapes_and_scales():
    svg = bar_chart([("<b>", 2), ("ok", 4)], title="T & U")
    assert svg.startswith("<svg") and "&lt;b&gt;" in svg and "T &amp; U" in svg
    assert 'height="150.0"' in svg  # the tallest bar fills the plot
    assert "no data yet" in bar_chart([], title="empty")

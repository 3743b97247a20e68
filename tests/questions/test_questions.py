"""Questions to sites: the status machine, its one owner, the audit trail, and the rules the
use cases keep (expected answers written from the issue before the code)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from factories.cases import case_in_session
from factories.forms import sae_form
from sqlalchemy import select

from safety.accounts.scope import Scope
from safety.audit.store import AuditEvent
from safety.cases.store import Case
from safety.questions.service import (
    answer,
    ask,
    close,
    is_overdue,
    parse_fields,
    questions_for,
    reopen,
    visible_question,
)
from safety.questions.status import QUESTION_STATUS, QuestionError, QuestionStatus
from safety.statemachine import StatusError

TODAY = date(2026, 12, 7)


def test_the_machine_allows_exactly_the_documented_moves():
    o, a, c = QuestionStatus.OPEN, QuestionStatus.ANSWERED, QuestionStatus.CLOSED
    allowed = {(x, y) for x in QuestionStatus for y in QuestionStatus
               if QUESTION_STATUS.allows(x, y)}
    assert allowed == {(o, a), (o, c), (a, c), (a, o)}
    with pytest.raises(StatusError):
        QUESTION_STATUS.check(c, o)  # closed is final


@pytest.mark.parametrize("raw,names", [
    ("subject.weight_kg, events.0.onset_date", ["subject.weight_kg", "events.0.onset_date"]),
    ("narrative narrative", ["narrative"]), ("", []), (None, []),
])
def test_field_names(raw, names):
    assert parse_fields(raw) == names


@pytest.mark.parametrize("raw", ["subject weight!", "events..0", "<script>", "a" * 101])
def test_a_bad_field_name_is_refused_naming_it(raw):
    with pytest.raises(QuestionError) as err:
        parse_fields(raw)
    assert err.value.field == "fields"


def _case(db_session, base_settings) -> Case:
    case_id = case_in_session(db_session, base_settings, sae_form(sae_id="Q-1"), stages=False)
    return db_session.get(Case, uuid.UUID(case_id))


def _audit(db_session, q) -> list[tuple[str, str | None]]:
    return [(e.action, e.reason) for e in db_session.execute(
        select(AuditEvent).where(AuditEvent.entity_id == str(q.id))
        .order_by(AuditEvent.id)).scalars()]


def test_ask_answer_reopen_answer_close_each_audited(db_session, base_settings):
    case = _case(db_session, base_settings)
    q = ask(db_session, case, actor="user:doc", text=" Onset date of the rash? ",
            fields="events.0.onset_date", due=None, today=TODAY, default_days=7)
    assert (q.status, q.due, q.text, q.fields) == ("open", date(2026, 12, 14),
                                                   "Onset date of the rash?",
                                                   ["events.0.onset_date"])
    assert q.site_id == case.site_id and q.sender_case_id == "Q-1"
    answer(db_session, q, actor="user:site", text="2026-10-29")
    with pytest.raises(QuestionError):
        answer(db_session, q, actor="user:site", text="again")  # answered: not open
    with pytest.raises(QuestionError) as err:
        reopen(db_session, q, actor="user:doc", reason="")
    assert err.value.field == "reason"
    reopen(db_session, q, actor="user:doc", reason="Is that the date of the first lesion?")
    answer(db_session, q, actor="user:site", text="Yes, first lesion.")
    close(db_session, q, actor="user:doc", reason=None)  # accepting needs no reason
    assert q.status == "closed" and q.closed_by == "user:doc"
    with pytest.raises(QuestionError):
        close(db_session, q, actor="user:doc", reason="twice")
    assert _audit(db_session, q) == [
        ("question.asked", None), ("question.answered", None),
        ("question.open", "Is that the date of the first lesion?"),
        ("question.answered", None), ("question.closed", None)]


def test_withdrawing_an_open_question_needs_a_reason(db_session, base_settings):
    case = _case(db_session, base_settings)
    q = ask(db_session, case, actor="user:doc", text="Batch number?", fields=None,
            due=date(2026, 12, 8), today=TODAY, default_days=7)
    with pytest.raises(QuestionError):
        close(db_session, q, actor="user:doc", reason=" ")
    close(db_session, q, actor="user:doc", reason="found in the pharmacy log")
    assert q.close_reason == "found in the pharmacy log"


def test_an_answer_needs_text_or_a_report_and_a_due_date_not_past(db_session, base_settings):
    case = _case(db_session, base_settings)
    with pytest.raises(QuestionError) as err:
        ask(db_session, case, actor="user:doc", text="x", fields=None,
            due=date(2026, 12, 6), today=TODAY, default_days=7)
    assert err.value.field == "due"
    with pytest.raises(QuestionError) as err:
        ask(db_session, case, actor="user:doc", text="   ", fields=None, due=None,
            today=TODAY, default_days=7)
    assert err.value.field == "text"
    q = ask(db_session, case, actor="user:doc", text="x", fields=None, due=None, today=TODAY,
            default_days=7)
    with pytest.raises(QuestionError) as err:
        answer(db_session, q, actor="user:site", text="")
    assert err.value.field == "answer"


def test_overdue_is_open_past_its_due_date_and_the_site_sees_only_its_own(
        db_session, base_settings):
    case = _case(db_session, base_settings)
    q = ask(db_session, case, actor="user:doc", text="x", fields=None, due=date(2026, 12, 8),
            today=TODAY, default_days=7)
    assert not is_overdue(q, date(2026, 12, 8)) and is_overdue(q, date(2026, 12, 9))
    own = Scope(sponsor_ids=frozenset({case.sponsor_id}), site_id=case.site_id)
    other_site = Scope(sponsor_ids=frozenset({case.sponsor_id}), site_id=case.site_id + 1000)
    other_sponsor = Scope(sponsor_ids=frozenset({case.sponsor_id + 1000}))
    assert [x.id for x in questions_for(db_session, own, overdue_on=date(2026, 12, 9))] == [q.id]
    assert questions_for(db_session, own, overdue_on=date(2026, 12, 8)) == []
    assert visible_question(db_session, q.id, own) is q
    assert visible_question(db_session, q.id, other_site) is None
    assert visible_question(db_session, q.id, other_sponsor) is None
    assert questions_for(db_session, other_site) == []
    answer(db_session, q, actor="user:site", text="done")
    assert not is_overdue(q, date(2027, 1, 1))  # answered: the site is not late any more


def test_a_case_without_a_site_cannot_be_asked(db_session, base_settings):
    case = _case(db_session, base_settings)

    class Partner:
        id, sponsor_id, site_id, sender_case_id = case.id, case.sponsor_id, None, "X"

    with pytest.raises(QuestionError) as err:
        ask(db_session, Partner(), actor="user:doc", text="x", fields=None, due=None,
            today=TODAY, default_days=7)
    assert err.value.field == "case"

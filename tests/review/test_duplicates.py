"""Suspected duplicates: found by the pipeline, explained, decided by a physician (audited),
and a decided pair is not offered again."""

from __future__ import annotations

from factories.forms import sae_form
from sqlalchemy import func, select, update

from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.dedup.store import DedupCandidate, DedupDecision


def _two_reports_of_one_event(client, sites, worker):  # type: ignore[no-untyped-def]
    site = sites.token()
    first = sae_form()
    again = sae_form(sae_id="ONC-301-101-SAE077",
                     narrative="Re-entered from paper. " + first["narrative"])
    again["events"][0]["verbatim"] = "Febrile neutropenia"
    ids = []
    for form in (first, again):
        r = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json
        worker()
        ids.append(r["status_url"])
    safety = sites.token("Safety team", role="safety")
    cases = [client.get(u, headers=sites.headers(safety)).json["case_id"] for u in ids]
    return safety, site, cases


def test_duplicate_is_suspected_explained_and_rejection_is_remembered(client, sites, worker,
                                                                      settings):
    safety, site, (a, b) = _two_reports_of_one_event(client, sites, worker)
    assert a != b  # different SAE ids: never merged silently
    got = client.get(f"/api/v1/cases/{b}/duplicates", headers=sites.headers(safety)).json
    assert [c["candidate_case_id"] for c in got] == [a]
    assert got[0]["suspected"] is True and got[0]["score"] > 0.9
    fields = {e["field"] for e in got[0]["explanation"]}
    assert {"sex", "birth"} & fields or len(fields) >= 3
    # a site client is not shown other cases as candidates
    assert client.get(f"/api/v1/cases/{b}/duplicates", headers=sites.headers(site)).json == []

    r = client.post(f"/api/v1/cases/{b}/duplicates/{a}",
                    json={"decision": "reject", "reason": "different admissions"},
                    headers=sites.headers(safety))
    assert r.status_code == 200 and r.json["master_case_id"] is None
    assert client.get(f"/api/v1/cases/{b}/duplicates", headers=sites.headers(safety)).json == []
    with session_scope(settings.effective_database_url) as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "duplicate.rejected")).all()
    assert len(ev) == 2 and all(e.reason == "different admissions" for e in ev)


def test_confirm_links_under_the_more_complete_case(client, sites, worker, settings):
    safety, site, (a, b) = _two_reports_of_one_event(client, sites, worker)
    assert client.post(f"/api/v1/cases/{b}/duplicates/{a}",
                       json={"decision": "confirm", "reason": "same event"},
                       headers=sites.headers(site)).status_code == 403
    r = client.post(f"/api/v1/cases/{b}/duplicates/{a}",
                    json={"decision": "confirm", "reason": "same event, re-sent"},
                    headers=sites.headers(safety))
    assert r.status_code == 200, r.json
    assert {r.json["master_case_id"], r.json["duplicate_case_id"]} == {a, b}
    assert client.get(f"/api/v1/cases/{b}/duplicates", headers=sites.headers(safety)).json == []
    # Each side's audit row names the other case by number (it once read "duplicate_of: ∅ → ∅"
    # on the master).
    master, duplicate = r.json["master_case_id"], r.json["duplicate_case_id"]
    number = {c: client.get(f"/api/v1/cases/{c}", headers=sites.headers(safety)).json[
        "case_number"] for c in (a, b)}
    with session_scope(settings.effective_database_url) as s:
        changes = {str(e.case_id): e.changes for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "duplicate.confirmed"))}
    assert changes == {
        duplicate: [{"field": "duplicate_of", "from": None, "to": number[master]}],
        master: [{"field": "master_of", "from": None, "to": number[duplicate]}]}
    bad = client.post(f"/api/v1/cases/{b}/duplicates/{a}", json={"decision": "maybe"},
                      headers=sites.headers(safety))
    assert bad.status_code == 422 and {"decision", "reason"} <= set(bad.json["errors"]["json"])


def test_a_pair_the_page_offers_only_rejection_cannot_be_confirmed_through_the_api(
        client, sites, worker, settings):
    """Issue 17: the case page hides "Confirm duplicate" for a candidate shown as 0.00; the API
    refused nothing. Both follow one rule (``offers_confirmation``); the refusal names the
    field and why, and writes nothing."""
    safety, _site, (a, b) = _two_reports_of_one_event(client, sites, worker)
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(DedupCandidate).values(score=0.001, suspected=False))
    listed = client.get(f"/api/v1/cases/{b}/duplicates", headers=sites.headers(safety)).json
    assert [(c["candidate_case_id"], c["score"]) for c in listed] == [(a, 0.001)]
    for x, y in ((b, a), (a, b)):  # from either case's side
        r = client.post(f"/api/v1/cases/{x}/duplicates/{y}",
                        json={"decision": "confirm", "reason": "same event"},
                        headers=sites.headers(safety))
        assert r.status_code == 422, r.json
        assert "0.00" in r.json["errors"]["json"]["decision"][0]
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(DedupDecision)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.like("duplicate.%"))) == 0
    # rejecting it is what the page offers, and works
    r = client.post(f"/api/v1/cases/{b}/duplicates/{a}",
                    json={"decision": "reject", "reason": "different admissions"},
                    headers=sites.headers(safety))
    assert r.status_code == 200, r.json
    # a rejected pair is no candidate any more: confirming it is refused too
    r = client.post(f"/api/v1/cases/{b}/duplicates/{a}",
                    json={"decision": "confirm", "reason": "changed my mind"},
                    headers=sites.headers(safety))
    assert r.status_code == 422 and "not an open duplicate candidate" in r.json["message"]


def test_a_pair_with_some_probability_below_the_threshold_stays_confirmable(
        client, sites, worker, settings):
    safety, _site, (a, b) = _two_reports_of_one_event(client, sites, worker)
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(DedupCandidate).values(score=0.2, suspected=False))
    r = client.post(f"/api/v1/cases/{b}/duplicates/{a}",
                    json={"decision": "confirm", "reason": "re-keyed from paper"},
                    headers=sites.headers(safety))
    assert r.status_code == 200, r.json



def test_the_queue_flags_both_cases_of_a_suspected_pair_until_it_is_decided(
        client, sites, worker, settings):
    """The queue's row says "suspected duplicate" for both cases of an undecided suspected
    pair (the later case holds the candidate row, the earlier one is named by it), as the
    case page's list does, and for neither once a physician decided; another pair's
    decision changes nothing for it (the flag is one SQL condition per case,
    ``dedup.store.open_suspected``, asked about that case only)."""
    from uuid import UUID

    from safety.dedup.decisions import DECIDED
    from safety.dedup.store import decided_with, open_candidates
    from safety.review.store import QueueEntry, refresh_entries

    safety, site, (a, b) = _two_reports_of_one_event(client, sites, worker)
    other: list[str] = []
    for sae in ("ONC-301-102-SAE009", "ONC-301-102-SAE010"):
        form = sae_form(sae_id=sae, site={"number": "102", "country": "GB"},
                        subject={"id": "102-017", "initials": "MK", "sex": "male",
                                 "birth_date": "1948-09"},
                        narrative=f"{sae}: admitted with dyspnoea.")
        form["events"][0].update(verbatim="pulmonary embolism", onset_date="2026-06-11")
        url = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json[
            "status_url"]
        worker()
        other.append(client.get(url, headers=sites.headers(safety)).json["case_id"])
    c, d = other

    def flags() -> dict[str, bool]:
        with session_scope(settings.effective_database_url) as s:
            refresh_entries(s, [UUID(x) for x in (a, b, c, d)])  # each asked afresh
        with session_scope(settings.effective_database_url) as s:
            return {str(e.case_id): e.suspected_duplicate for e in s.scalars(select(QueueEntry))}

    def listed(case: str) -> bool:  # what the case page's list says
        with session_scope(settings.effective_database_url) as s:
            return bool(open_candidates(s, UUID(case), decided_with(s, case, DECIDED),
                                        suspected_only=True))

    before = flags()
    assert {x: before[x] for x in (a, b, c, d)} == {a: True, b: True, c: True, d: True}
    assert all(listed(x) for x in (a, b, c, d))
    r = client.post(f"/api/v1/cases/{d}/duplicates/{c}",
                    json={"decision": "reject", "reason": "different admissions"},
                    headers=sites.headers(safety))
    assert r.status_code == 200
    after = flags()
    assert {x: after[x] for x in (a, b, c, d)} == {a: True, b: True, c: False, d: False}
    assert [listed(x) for x in (a, b, c, d)] == [True, True, False, False]


def test_the_case_named_as_a_candidate_gets_its_flag_without_a_rewrite(
        client, sites, worker, settings):
    """Issue 20: a screening that names an earlier case as its candidate changes only that
    case's suspected-duplicate flag; its row gets the flag (the rest as it was) without its
    documents being read back, and a full rewrite afterwards finds nothing to change."""
    from uuid import UUID

    from sqlalchemy import event

    from safety.cases.store import CaseVersion, CodedView
    from safety.db.session import get_engine
    from safety.review.store import QueueEntry, refresh_entries

    def rows() -> dict[str, dict[str, object]]:
        with session_scope(settings.effective_database_url) as s:
            return {str(e.case_id): {c.name: getattr(e, c.name) for c in
                                     QueueEntry.__table__.columns if c.name != "refreshed_at"}
                    for e in s.scalars(select(QueueEntry))}

    site = sites.token()
    first = sae_form()
    client.post("/api/v1/reports", json=first, headers=sites.headers(site))
    worker()
    before = rows()
    (a,) = before
    assert before[a]["suspected_duplicate"] is False
    again = sae_form(sae_id="ONC-301-101-SAE077",
                     narrative="Re-entered from paper. " + first["narrative"])
    again["events"][0]["verbatim"] = "Febrile neutropenia"
    client.post("/api/v1/reports", json=again, headers=sites.headers(site))
    read: list[str] = []

    def documents_read(_conn, _cursor, statement, parameters, *_):  # type: ignore[no-untyped-def]
        for table in (CaseVersion.__tablename__, CodedView.__tablename__):
            if statement.lstrip().startswith("SELECT") and f"FROM {table} " in statement \
                    and a in str(parameters):
                read.append(table)

    engine = get_engine(settings.effective_database_url)
    event.listen(engine, "before_cursor_execute", documents_read)
    try:
        worker()
    finally:
        event.remove(engine, "before_cursor_execute", documents_read)
    after = rows()
    (b,) = set(after) - {a}
    assert after[a]["suspected_duplicate"] is True and after[b]["suspected_duplicate"] is True
    assert {**before[a], "suspected_duplicate": True} == after[a]
    assert read == []  # the earlier case's documents were not read for its flag
    with session_scope(settings.effective_database_url) as s:
        refresh_entries(s, [UUID(a), UUID(b)])
    assert rows() == after

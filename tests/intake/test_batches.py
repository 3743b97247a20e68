"""An E2B batch is stored whole or not at all (docs/decisions.md); a value longer than its
column is no reason to refuse it (issue 14): it is stored with a finding."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories.batches import Message, batch, valid
from factories.cases import post_e2b
from factories.env import use_settings_env
from factories.sponsors import DEFAULT_ID
from sqlalchemy import func, select

from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.intake import store
from safety.intake.service import Submitter, e2b_reports, message_key, submit
from safety.intake.store import Report


def _counts(settings) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with session_scope(settings.effective_database_url) as s:
        return (s.execute(select(func.count(Report.id))).scalar_one(),
                s.execute(select(func.count(AuditEvent.id))
                          .where(AuditEvent.action == "report.received")).scalar_one())


def _safety(sites):  # type: ignore[no-untyped-def]
    return sites.headers(sites.token("Partner", "US", role="safety"))


def _processed(client, headers, r):  # type: ignore[no-untyped-def]
    return [client.get(item["status_url"], headers=headers).json for item in r.json["reports"]]


def _texts(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{f['criterion']} {f['code']} {f['message']}" for f in report["findings"]]


@pytest.mark.parametrize(("message", "element", "ig_limit"), [
    (Message(c11="X" * 250, c181="US-PARTNER-000002"), "C.1.1", 100),
    (Message(c11="US-PARTNER-000002", c181="W" * 101), "C.1.8.1", 100),
    (Message(c11="US-PARTNER-000002", c181="US-PARTNER-000002", sender="S" * 197), "N.2.r.2",
     60),
])
def test_an_e2b_identifier_longer_than_the_ig_allows_is_stored_with_a_finding(
        client, sites, settings, worker, message, element, ig_limit):
    """Issue 14: a value longer than our column used to answer 422 (nothing stored: the
    partner's report lost). Lengths follow the ICH IG (C.1.1 and C.1.8.1 100, N.2.r.2 60
    characters): a longer value is a finding on the report, which is stored and processed,
    the value kept whole."""
    headers = _safety(sites)
    r = post_e2b(client, headers, batch(valid(1), message))
    assert r.status_code == 202, r.json
    assert _counts(settings) == (2, 2)
    worker()
    first, second = _processed(client, headers, r)
    assert first["status"] == second["status"] == "processed", second
    assert not any("e2b-length" in t for t in _texts(first))
    assert any(t.startswith(f"{element} e2b-length") and f"maximum {ig_limit}" in t
               for t in _texts(second)), _texts(second)
    case = client.get(second["case_url"], headers=headers).json["data"]
    with session_scope(settings.effective_database_url) as s:
        report = s.get(Report, uuid.UUID(second["report_id"]))
        assert report is not None
        kept = report.payload
    if element == "C.1.1":
        assert kept["case"]["admin"]["sender_safety_report_id"] == message.c11
        assert second["sender_case_id"].startswith("sha256:")
    elif element == "C.1.8.1":
        assert kept["case"]["admin"]["worldwide_case_id"] == message.c181
        assert case["admin"]["worldwide_case_id"] != message.c181  # the case's own id
        assert any(t.startswith("C.1.8.1 e2b-length") and "own worldwide id" in t
                   for t in _texts(second))
    else:
        assert kept["header"]["message_sender"] == message.sender


def test_a_long_c11_still_links_its_follow_up(client, sites, settings, worker):
    """The column holds the digest of a C.1.1 too long for it: the same C.1.1 again is the
    same case (a follow-up), not a new one."""
    headers = _safety(sites)
    long_id = "F" * 230
    post_e2b(client, headers, batch(Message(c11=long_id, c181="US-PARTNER-000009")))
    worker()
    again = post_e2b(client, headers, batch(Message(c11=long_id, c181="US-PARTNER-000009")))
    worker()
    [rep] = _processed(client, headers, again)
    case = client.get(rep["case_url"], headers=headers).json
    assert case["current_version"] == 2, case


def test_values_at_their_limits_are_stored_and_processed(client, sites, settings, worker):
    body = batch(Message(c11="X" * 200, c181="W" * 100, sender="S" * 196), valid(2))
    headers = _safety(sites)
    r = post_e2b(client, headers, body)
    assert r.status_code == 202, r.json
    assert _counts(settings) == (2, 2)
    worker()
    for item in r.json["reports"]:
        rep = client.get(item["status_url"], headers=headers).json
        assert rep["status"] == "processed", rep


def test_a_failure_storing_message_2_leaves_no_message_stored(settings, monkeypatch):
    """Whatever goes wrong halfway (here the database refuses message 2), the batch is one
    transaction: message 1 is not left behind."""
    calls = []
    pg = settings.effective_database_url.startswith("postgresql")
    name = "_pg_receive" if pg else "_insert_in_session"
    real = getattr(store, name)

    def fail_on_second(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database refused message 2")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, name, fail_on_second)
    submitter = Submitter(actor="test", sender="client:1", site_id=None, sponsor_id=DEFAULT_ID)
    reports = e2b_reports(submitter, batch(valid(1), valid(2)))
    with pytest.raises(RuntimeError, match="message 2"):
        submit(settings.effective_database_url, reports, submitter,
               lambda ids, fresh: pytest.fail("nothing to dispatch"))
    assert len(calls) == 2
    assert _counts(settings) == (0, 0)


def test_a_retried_batch_with_its_key_answers_the_same_reports(client, sites, settings):
    headers = {**_safety(sites), "Idempotency-Key": "k" * 200}  # the longest key allowed
    body = batch(valid(1), valid(2))
    first = post_e2b(client, headers, body)
    assert first.status_code == 202, first.json
    again = post_e2b(client, headers, body)
    assert again.status_code == 202
    assert again.json["reports"] == first.json["reports"]
    assert _counts(settings) == (2, 2)
    other = post_e2b(client, headers, batch(valid(1), valid(3)))
    assert other.status_code == 409
    assert _counts(settings) == (2, 2)


def test_message_keys_always_fit_their_column() -> None:
    assert message_key(None, 0) is None
    assert message_key("abc", 3) == "abc#3"
    long = message_key("k" * 200, 12)
    assert long is not None and long.startswith("sha256:") and long.endswith("#12")
    assert len(long) <= 200
    assert message_key("k" * 200, 1) != message_key("k" * 199 + "j", 1)


def test_the_cli_imports_a_batch_with_a_long_value(settings, monkeypatch, tmp_path):
    from safety.cli import main

    use_settings_env(monkeypatch, settings)
    path = tmp_path / "batch.xml"
    path.write_bytes(batch(valid(1), Message(c11="US-PARTNER-000002", c181="W" * 101)))
    res = CliRunner().invoke(main, ["import", str(path)])
    assert res.exit_code == 0, res.output
    assert _counts(settings) == (2, 2)



def test_safety_import_takes_a_folder_of_many_files_in_one_process(settings, monkeypatch,  # type: ignore[no-untyped-def]
                                                                   tmp_path, worker):
    """Issue 20: thousands of files go in one call (a folder is walked); each report gets
    its JSON line, in file order, and is enqueued (in batches) for the workers."""
    from click.testing import CliRunner
    from factories.env import use_settings_env
    from factories.forms import sae_form

    from safety.cli import main

    use_settings_env(monkeypatch, settings)
    folder = tmp_path / "inbox"
    (folder / "b").mkdir(parents=True)
    for n in range(40):
        (folder / ("b" if n % 2 else "") / f"{n:03}.json").write_text(
            json.dumps(sae_form(sae_id=f"IMP-{n:03}")))
    (folder / "notes.txt").write_text("not a report")
    res = CliRunner().invoke(main, ["import", str(folder)])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 40 and all(line["status"] == "received" for line in lines)
    assert [Path(line["file"]).name for line in lines] == sorted(
        f"{n:03}.json" for n in range(40) if n % 2 == 0) + sorted(
        f"{n:03}.json" for n in range(40) if n % 2)
    assert worker() == 40  # every one was on the queue

"""Does a change alter what the pipeline writes? (issue 20: speed work must not change
behaviour.) The same material goes through the job function of two checkouts, each on
PostgreSQL and Redis servers of its own (``pipeline.py``'s), and every table the pipeline
writes is compared, normalised: ids become the case number, version or report they name,
instants become ``T`` (the two runs happen at different times), the audit trail is compared
per case in the order it was written, the partner ACKs written to the outbox by file.

    python bench/compare_trees.py --baseline ../old-checkout [--reports 150]
                                  [--material demo|e2b|both]

The material: ``demo``, N demo reports (our own generator); ``e2b``, the official FDA
E2B(R3) example messages and the ICH-like follow-up (``tests/e2b/data``, material we did not
write) as a partner sends them (:func:`_deliveries`: follow-ups of one case, a version named
by C.1.8.1 alone, a batch of two messages, a re-send, an idempotent replay whose job runs
again) and as a migration brings them (:func:`_migrated`); ``both``, the demo reports then
the messages, in one database.

Exit status 1 when any table differs (the differing tables are printed).
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
TABLES = ["reports", "cases", "case_versions", "case_coded_views", "obligations",
          "case_anchors", "obligation_recommendations", "case_assessments", "submissions",
          "dedup_candidates", "dedup_profiles", "dedup_block_keys", "dedup_identifiers",
          "queue_entries", "queue_terms", "queue_counts", "unblindings", "case_receipts",
          "questions", "migrated_reports"]
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?"
                      r"|\d{14}[+-]\d{4}")
_TIMING = {"ms", "started", "seconds", "at", "instant"}
# The E2B material: this tree's copies of the official examples (both runs read the same bytes).
E2B_DATA = HERE / "tests" / "e2b" / "data"
PARTNER_SENDERS = ("4567AB89012", "HCPOSTMARKET")  # the examples' N.2.r.2
# The sponsor the partner sends for: no reporting capacities configured (held to every
# regime), a registry naming the examples' suspect products (what makes their obligations).
PARTNER_SPONSOR: dict[str, Any] = {
    "code": "PARTNERED", "name": "Partnered Pharma", "org_code": "PARTNERED",
    "case_prefix": "PTN", "timezone": "America/New_York",
    "gateways": {"fda": {"sender_id": "PARTNERED"}}, "reporting": []}
PARTNER_REGISTRY = {
    "products": [
        {"id": "DRUGA", "name": "Drug A", "substances": ["drug a"], "statuses": [
            {"jurisdiction": "US", "status": "authorised", "numbers": ["NDA012345"]}]},
        {"id": "MK001", "name": "MK-001", "substances": ["mk-001"], "statuses": [
            {"jurisdiction": "US", "status": "investigational", "numbers": ["IND 123456"]}]},
        {"id": "VIVACOR", "name": "Vivacor", "substances": ["vivacor"], "statuses": [
            {"jurisdiction": "CA", "status": "authorised", "numbers": ["DIN 00000000"]}]}],
    "studies": [{"protocol": "CT-00-00", "jurisdictions": ["US"], "ind_numbers": ["123456"],
                 "products": ["MK001"], "blinded": False, "title": "the examples' study"}],
}


def dump(root: Path, reports: int, material: str, out: Path) -> None:
    """In a process whose ``safety`` is ``root``'s: run the material, write the tables."""
    sys.path[:0] = [str(root / "bench"), str(root / "tests"), str(root)]
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_pipeline", root / "bench" / "pipeline.py")
    assert spec is not None and spec.loader is not None
    bench: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    servers = bench.Servers(None, None)
    try:
        run = bench.Run(servers, "bench_compare", 0)
        os.environ.update(run.env)
        import safety
        from safety.pipeline.worker import warm_caches

        assert Path(safety.__file__).resolve().is_relative_to(root), safety.__file__
        warm_caches(run.settings)
        ids: list[uuid.UUID] = []
        if material in ("demo", "both"):
            ids += _demo_reports(bench, run.settings, reports)
        if material in ("e2b", "both"):
            ids += _e2b_reports(run.settings)
        out.write_text(json.dumps(_tables(run.settings, list(dict.fromkeys(ids))),
                                  sort_keys=True, default=str))
    finally:
        servers.close()


def _demo_reports(bench: Any, settings: Any, reports: int) -> list[uuid.UUID]:
    """N demo reports, all stored, then each report's job run (in storage order)."""
    from safety.demo.generator import generate_forms
    from safety.pipeline import jobs

    ids: list[uuid.UUID] = bench.store(settings, generate_forms(reports, seed=22),
                                       lambda ids, *, fresh: None)
    for rid in ids:
        jobs.process_report(str(rid))
    return ids


def _e2b_reports(settings: Any) -> list[uuid.UUID]:
    """The official messages as the partner sends them, then as a migration brings them; the
    reports stored, in order (a replayed one again)."""
    submitter = _partner(settings)
    ids: list[uuid.UUID] = []
    for raw, key in _deliveries():
        ids += _deliver(settings, submitter, raw, key)
    return ids + _migrated(settings, submitter.sponsor_id)


def _partner(settings: Any) -> Any:
    """The partner's API client (bound to the examples' senders, for the sponsor
    :func:`_partner_sponsor` adds) as the API makes its submitter
    (``safety.api.reports._submitter``)."""
    from sqlalchemy import text

    from safety.accounts.clients import issue_token
    from safety.db.session import unit_of_work
    from safety.intake.service import Submitter

    with unit_of_work(settings) as session:
        sponsor_id = _partner_sponsor(session)
        issue_token(session, "Partner", "partner", sponsor_ids=[sponsor_id],
                    senders=PARTNER_SENDERS, actor="bench:compare")
        client_id = session.execute(text("SELECT id FROM api_clients WHERE name = 'Partner'")
                                    ).scalar_one()
    return Submitter(actor=f"api:{client_id}:Partner", sender=f"client:{client_id}",
                     site_id=None, client_id=client_id, sponsor_id=sponsor_id,
                     e2b_senders=frozenset(PARTNER_SENDERS))


def _partner_sponsor(session: Any) -> int:
    """``PARTNER_SPONSOR`` added, with ``PARTNER_REGISTRY`` (as ``safety demo`` adds its
    sponsors); its id."""
    from importlib import resources

    from safety.products.registry import load_registry_json
    from safety.products.store import save_registry
    from safety.sponsors.service import add_sponsor

    demo = json.loads(resources.files("safety.demo").joinpath("sponsors.json").read_text())
    sponsor = add_sponsor(session, **PARTNER_SPONSOR, sender=demo["sponsors"][0]["sender"],
                          actor="bench:compare")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.json"
        path.write_text(json.dumps(PARTNER_REGISTRY))
        save_registry(session, load_registry_json(path), sponsor.id)
    return int(sponsor.id)


def _deliveries() -> list[tuple[bytes, str | None]]:
    """What the partner posts, in order, each with its Idempotency-Key: Scenario 1 (a new
    case), 3 and 8 (its follow-ups: same sender and C.1.1), 7 (another C.1.1 naming the
    case's C.1.8.1: a version by C.1.8.1), 5-1 (another case), the ICH-like follow-up (another
    sender, a case whose first report we never had), a batch of two messages (5-1 and the
    ICH-like one again: one ACK for both), Scenario 1 sent again without a key (a re-send),
    and Scenario 1 with its first key (a replay: the stored report is answered, not stored
    again; its job, delivered again, runs again)."""
    s1 = _example("FAERS2022Scenario1.xml")
    return [(s1, "s1"), (_example("FAERS2022Scenario3.xml"), "s3"),
            (_example("FAERS2022Scenario7.xml"), "s7"), (_example("FAERS2022Scenario8.xml"), "s8"),
            (_example("FAERS2022Scenario5-1.xml"), "s5"),
            (_example("ICH-ref-like_HC-B7890123_followup.xml"), "ich"),
            (_batch("FAERS2022Scenario5-1.xml", "ICH-ref-like_HC-B7890123_followup.xml"), "two"),
            (s1, None), (s1, "s1")]


def _example(name: str) -> bytes:
    return (E2B_DATA / name).read_bytes()


def _batch(*names: str) -> bytes:
    """One batch (the first example's wrapper) holding the message of each example, in order."""
    from lxml import etree

    ns = "{urn:hl7-org:v3}PORR_IN049016UV"
    root = etree.fromstring(_example(names[0]))
    last = root.find(ns)
    assert last is not None
    for name in names[1:]:
        message = etree.fromstring(_example(name)).find(ns)
        assert message is not None
        last.addnext(message)
        last = message
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _deliver(settings: Any, submitter: Any, raw: bytes, key: str | None) -> list[uuid.UUID]:
    """One post of the partner: stored as the API stores an E2B batch (``e2b_reports``, then
    ``submit``), then each report's job run, as the worker runs it (it writes the ACK)."""
    from safety.intake.service import e2b_reports, submit
    from safety.pipeline import jobs

    accepted = submit(settings.effective_database_url,
                      e2b_reports(submitter, raw, idempotency_key=key), submitter,
                      lambda ids, *, fresh: None)
    for a in accepted:
        jobs.process_report(str(a.report.id))
    return [a.report.id for a in accepted]


def _migrated(settings: Any, sponsor_id: int) -> list[uuid.UUID]:
    """Two examples as ``safety import --manifest`` brings them, from a legacy system's
    sender: Scenario 5-1 already submitted to the FDA (historical; its C.1.8.1 is the
    partner's case: not this sender's to add to), the ICH-like follow-up still to report."""
    from datetime import date

    from safety.db.session import unit_of_work
    from safety.intake.manifest import ManifestEntry
    from safety.intake.migration import import_e2b, local_run
    from safety.pipeline import jobs

    with unit_of_work(settings) as session:
        run = local_run(session, sponsor_id, "bench compare", actor="bench:compare")
    ids: list[uuid.UUID] = []
    for row, (name, submitted) in enumerate(
            [("FAERS2022Scenario5-1.xml", {"FDA": date(2022, 6, 20)}),
             ("ICH-ref-like_HC-B7890123_followup.xml", None)], start=1):
        entry = ManifestEntry(row=row, path=Path(name), sender="LEGACY", submitted=submitted)
        out = import_e2b(settings, run, entry, _example(name), lambda ids, *, fresh: None,
                         path=name)
        assert out.stored and not out.failed, out
        ids += out.stored
    for rid in ids:
        jobs.process_report(str(rid))
    return ids


def _tables(settings: Any, report_ids: list[uuid.UUID]) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    with create_engine(settings.effective_database_url).connect() as c:
        labels = _labels(c, report_ids)
        out: dict[str, Any] = {}
        for table in TABLES:
            rows = [{k: v for k, v in r._mapping.items() if k not in ("id", "seq")}
                    for r in c.execute(text(f"SELECT * FROM {table}"))]
            out[table] = sorted(json.dumps(_norm(r, labels), sort_keys=True) for r in rows)
        trail: dict[str, list[Any]] = {}
        for r in c.execute(text("SELECT case_id, action, entity_type, changes, reason "
                                "FROM audit_events ORDER BY id")):
            trail.setdefault(labels.get(str(r.case_id), "none"), []).append(
                _norm([r.action, r.entity_type, r.changes, r.reason], labels))
        out["audit_events (per case, in order)"] = trail
    out["partner ACKs (outbox files)"] = _acks(Path(settings.partner_ack_dir), labels)
    return out


def _labels(c: Any, report_ids: list[uuid.UUID]) -> dict[str, str]:
    """What each id is called in both runs: a report its position, a case its number, a
    version its case number and version, a batch ACK the report it is made from."""
    from sqlalchemy import text

    labels = {str(rid): f"R{i}" for i, rid in enumerate(report_ids)}
    labels.update({str(uuid.uuid5(rid, "ack")): f"ack-R{i}"  # safety.intake.acks.report_ack
                   for i, rid in enumerate(report_ids)})
    labels.update({str(i): n for i, n in c.execute(text("SELECT id, case_number FROM cases"))})
    labels.update({str(i): f"{n}/v{v}" for i, n, v in c.execute(text(
        "SELECT v.id, c.case_number, v.version FROM case_versions v "
        "JOIN cases c ON c.id = v.case_id"))})
    return labels


def _norm(x: Any, labels: dict[str, str]) -> Any:
    """``x`` with ids named by ``labels`` (another: ``U``) and instants ``T``."""
    if isinstance(x, dict):
        return {k: "T" if k.endswith("_at") or k in _TIMING else _norm(v, labels)
                for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_norm(v, labels) for v in x]
    if isinstance(x, datetime.datetime):
        return "T"
    if isinstance(x, datetime.date | decimal.Decimal | uuid.UUID | bytes):
        x = x.decode() if isinstance(x, bytes) else str(x)
    if isinstance(x, str):
        x = _INSTANT.sub("T", _UUID.sub(lambda m: labels.get(m.group(0), "U"), x))
    return x


def _acks(outbox: Path, labels: dict[str, str]) -> list[str]:
    """The ACK files the jobs wrote to the partners' outbox, each as its path and text."""
    if not outbox.is_dir():
        return []
    return sorted(json.dumps(_norm([str(f.relative_to(outbox)), f.read_text()], labels))
                  for f in outbox.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    ap.add_argument("--reports", type=int, default=150, help="demo reports")
    ap.add_argument("--material", choices=("demo", "e2b", "both"), default="demo",
                    help="demo reports, the official E2B(R3) examples, or both")
    ap.add_argument("--keep", type=Path, help="keep both runs' tables here "
                    "(baseline.json, this.json) to see how a table differs")
    ap.add_argument("--dump", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dump:
        dump(Path(args.dump[0]).resolve(), args.reports, args.material,
             Path(args.dump[1]))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name, root in (("baseline", args.baseline.resolve()), ("this", HERE)):
            out = folder / f"{name}.json"
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--baseline", ".",
                            "--reports", str(args.reports), "--material", args.material,
                            "--dump", str(root), str(out)],
                           cwd=root, check=True, stdout=subprocess.DEVNULL)
            results.append(json.loads(out.read_text()))
    before, after = results
    differ = [t for t in before if before[t] != after.get(t)]
    for table in before:
        size = len(before[table])
        print(f"{table}: {'DIFFERS' if table in differ else 'same'} ({size} rows or cases)")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()

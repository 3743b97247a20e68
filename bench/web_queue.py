"""Benchmark of the review queue query (``safety.review.queue.queue_rows``).

The queue loads every case in the selected states with its current version's JSON (product and
study filters run in Python), then sorts by urgency. This measures how that scales with the
number of open cases, with and without a product filter, on SQLite (default) or the database
in ``SAFETY_BENCH_DATABASE_URL``.

Run: ``.venv/bin/python bench/web_queue.py [--sizes 1000 5000 20000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete

from safety.cases.codec import case_to_json
from safety.cases.store import Case, CaseVersion
from safety.db.base import Base
from safety.db.session import get_engine, get_sessionmaker, import_all_models
from safety.demo.generator import generate_forms
from safety.intake.channels import payload_to_case
from safety.intake.store import Report
from safety.review.queue import QueueFilters, queue_rows
from safety.rules.store import ObligationRow


def fill(url: str, n: int) -> None:
    forms = generate_forms(60)
    docs = [(f, case_to_json(payload_to_case("site_form", f))) for f in forms]
    maker = get_sessionmaker(url)
    now = datetime.now(UTC)
    with maker() as s:
        for model in (ObligationRow, CaseVersion, Report, Case):
            s.execute(delete(model))
        s.commit()
        for i in range(n):
            form, data = docs[i % len(docs)]
            case_id, cv_id, report_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            raw = json.dumps(form).encode()
            received = now - timedelta(hours=i % 2000)
            s.add(Report(id=report_id, channel="site_form", content_type="application/json",
                         raw=raw, payload=form, payload_sha256=hashlib.sha256(raw).hexdigest(),
                         sender="bench", sender_case_id=f"B-{i}", received_at=received,
                         status="processed", findings=[], attempts=0))
            s.add(Case(id=case_id, case_number=f"B-{i:07d}", worldwide_case_id=f"W-{i}",
                       sender="bench", sender_case_id=f"B-{i}", state="triage",
                       current_version=1, serious=i % 3 != 0))
            s.flush()
            s.add(CaseVersion(id=cv_id, case_id=case_id, version=1, kind="initial",
                              report_id=report_id, data=data, received_at=received, stages={},
                              pipeline="done"))
            if i % 2 == 0:
                s.flush()
                s.add(ObligationRow(case_id=case_id, case_version_id=cv_id, version=1,
                                    destination="EMA", regime="eu-ct", rule_id="r",
                                    report_type="SUSAR", day0=date.today(),
                                    due=date.today() + timedelta(days=i % 15), days=15,
                                    status="open", citation="c", anchor="a", explanation="e",
                                    basis=[]))
            if i % 1000 == 999:
                s.commit()
        s.commit()


def timed(url: str, filters: QueueFilters, repeat: int) -> tuple[float, int]:
    maker = get_sessionmaker(url)
    times, rows = [], 0
    for _ in range(repeat):
        with maker() as s:
            t0 = time.perf_counter()
            page = queue_rows(s, filters, today=date.today())
            times.append(time.perf_counter() - t0)
            rows = len(page.rows)
    return statistics.median(times), rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    url = os.environ.get("SAFETY_BENCH_DATABASE_URL")
    tmp = None
    if url is None:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    import_all_models()
    Base.metadata.create_all(get_engine(url))
    print(f"database: {url.split('@')[-1]}")
    print(f"{'cases':>7} {'queue ms':>10} {'product filter ms':>18} {'us/case':>8}")
    for n in args.sizes:
        fill(url, n)
        full, rows = timed(url, QueueFilters(), args.repeat)
        filtered, _ = timed(url, QueueFilters(product="apixaban"), args.repeat)
        assert rows == n
        print(f"{n:>7} {full * 1000:>10.1f} {filtered * 1000:>18.1f} {full / n * 1e6:>8.1f}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()

"""A legacy safety database's export, as a migration receives it (issue 21): E2B(R3) files from
licence partners (built on the official FDA and ICH example messages) and site SAE forms,
with follow-ups, partner copies of site cases (duplicates), multi-message batches and
historical cases already reported; and a manifest that names each file's site or sender, its
original receipt date and, for a historical case, the day each regulator was sent it.

How duplicates arise here follows the published patterns: the same subject's event reported
by the site and again by a licence partner (a "partner copy", FAERS/VigiBase duplicates from
several senders), days later, under another case number. Follow-ups are new information from
the same sender under the same case id.

``write_migration`` writes it; ``verify`` checks, after the import, that every report kept the
date it was originally received (and an E2B message its C.1.4 and C.1.5).
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from factories.e2b import DATA
from factories.forms import sae_form
from safety.cases.model import CaseVersionData, CodedTerm
from safety.cases.values import PartialDate
from safety.e2b.writer import ExportHeader, build_batch, serialise
from safety.intake.channels import payload_to_case
from safety.intake.e2b_batch import split_batch
from safety.intake.sae_form import form_to_case
from safety.intake.service import SAE_FORM

PARTNERS = ("KUMOPHARMA", "NORDLAB-PV", "ACME-SAFETY", "PACIFICA-RX")
TEMPLATES = ("FAERS2022Scenario5-1.xml", "FAERS2022Scenario8.xml", "FAERS2022Scenario1.xml",
             "ICH-ref-like_HC-B7890123_followup.xml")
SITES = tuple(f"{n}" for n in (101, 102, 103, 104, 201, 202, 205, 301, 302, 401, 402, 501))
# Lay or CTCAE wordings a site writes, with the MedDRA code a partner's E2B carries for them
# (dictionaries/events.csv).
EVENTS = {"febrile neutropenia": "10016288", "pneumonitis": "10035742", "colitis": "10009887",
          "sepsis": "10040047", "acute kidney injury": "10069339", "myocarditis": "10028606",
          "rash maculo-papular": "10037868", "hypothyroidism": "10021114",
          "anaemia": "10002034"}
# Regulators a historical site case of ONC-301 (IND 145678, EU and UK sites) was sent to.
SITE_REGULATORS = ("FDA", "EMA", "MHRA")
PARTNER_REGULATORS = ("FDA", "EMA")
FIRST_DAY = date(2016, 1, 1)
LAST_DAY = date(2026, 10, 1)
HISTORICAL_BEFORE = date(2025, 6, 1)


@dataclass
class Expected:
    """What one report must keep: its original receipt day, and for an E2B message its C.1.4
    (first received) and C.1.5 (this information)."""

    file: str
    index: int
    kind: str  # initial | followup | partner_copy
    received: str
    c14: str | None = None
    c15: str | None = None
    historical: bool = False


@dataclass
class Migration:
    manifest: Path
    expected: list[Expected] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        c: Counter[str] = Counter(e.kind for e in self.expected)
        c["reports"] = len(self.expected)
        c["files"] = len({e.file for e in self.expected})
        c["historical"] = sum(e.historical for e in self.expected)
        c["e2b"] = sum(e.file.endswith(".xml") for e in self.expected)
        c["forms"] = c["reports"] - c["e2b"]
        return c


@dataclass
class _Item:
    """One file of the export before it is written, in receipt order."""

    day: date
    seq: int
    name: str
    content: bytes
    entry: dict[str, Any]
    expected: list[Expected]


def _templates() -> list[CaseVersionData]:
    out = []
    for name in TEMPLATES:
        for m in split_batch((DATA / name).read_bytes()):
            out.append(payload_to_case("e2b", m.payload))
    return out


def _initials(rnd: random.Random) -> str:
    return "".join(rnd.choice("ABCDEFGHJKLMNPRSTW") for _ in range(2))


def _day(rnd: random.Random) -> date:
    return FIRST_DAY + timedelta(days=rnd.randrange((LAST_DAY - FIRST_DAY).days))


def _xml(cases: list[CaseVersionData], sender: str) -> bytes:
    header = ExportHeader(sender_id=sender, batch_id=str(uuid.uuid4()),
                          message_ids=[str(uuid.uuid4()) for _ in cases])
    return serialise(build_batch(cases, header))


def _dates(case: CaseVersionData, first: date, latest: date) -> None:
    case.admin.first_received = PartialDate.from_date(first)
    case.admin.most_recent_received = PartialDate.from_date(latest)


def _submitted(rnd: random.Random, day: date, regulators: tuple[str, ...]) -> dict[str, str]:
    return {r: (day + timedelta(days=rnd.randint(3, 14))).isoformat() for r in regulators}


def write_migration(folder: Path, reports: int, *, seed: int = 21) -> Migration:
    """About ``reports`` reports (exactly that many) in files under ``folder`` and a manifest
    (``folder/manifest.json``) listing them in receipt order."""
    rnd = random.Random(seed)
    templates = _templates()
    items: list[_Item] = []
    made = 0
    seq = 0
    n_case = 0

    def add(day: date, name: str, content: bytes, entry: dict[str, Any],
            expected: list[Expected]) -> None:
        nonlocal made, seq
        seq += 1
        made += len(expected)
        items.append(_Item(day, seq, name, content, entry, expected))

    while made < reports:
        n_case += 1
        first = _day(rnd)
        historical = first < HISTORICAL_BEFORE and rnd.random() < 0.6
        followups = [first + timedelta(days=rnd.randint(5, 90))
                     for _ in range(rnd.choice((0, 0, 0, 0, 1, 1, 2)))]
        followups.sort()
        if rnd.random() < 0.55:  # a site's SAE form
            site = rnd.choice(SITES)
            subject = f"{site}-{n_case:05}"
            onset = first - timedelta(days=rnd.randint(1, 6))
            form = sae_form(
                sae_id=f"ONC-301-{site}-SAE{n_case:05}", awareness_date=(
                    first - timedelta(days=rnd.randint(0, 2))).isoformat(),
                site={"number": site, "country": rnd.choice(("GB", "FR", "DE", "US"))},
                subject={"id": subject, "initials": _initials(rnd),
                         "sex": rnd.choice(("male", "female")),
                         "birth_date": f"{rnd.randint(1940, 1995)}-{rnd.randint(1, 12):02}"})
            form["study"]["ind_number"] = "145678"
            form["events"][0].update(verbatim=rnd.choice(sorted(EVENTS)),
                                     onset_date=onset.isoformat())
            form["drugs"][0]["start_date"] = (onset - timedelta(
                days=rnd.randint(20, 200))).isoformat()
            sub = _submitted(rnd, first, SITE_REGULATORS) if historical else None
            name = f"forms/site{site}-{n_case:05}-0.json"
            add(first, name, json.dumps([form]).encode(),
                {"path": name, "site": f"Site {site}", "received": first.isoformat(),
                 "historical": historical, **({"submitted": sub} if sub else {})},
                [Expected(name, 0, "initial", first.isoformat(), historical=historical)])
            for k, when in enumerate(followups, start=1):
                follow = copy.deepcopy(form)
                follow.update(report_type="followup",
                              narrative=f"{form['narrative']} Follow-up {k}: outcome updated.")
                follow["events"][0]["outcome"] = rnd.choice(("recovered", "recovering",
                                                             "not_recovered"))
                sub = _submitted(rnd, when, SITE_REGULATORS) if historical else None
                name = f"forms/site{site}-{n_case:05}-{k}.json"
                add(when, name, json.dumps([follow]).encode(),
                    {"path": name, "site": f"Site {site}", "received": when.isoformat(),
                     "historical": historical, **({"submitted": sub} if sub else {})},
                    [Expected(name, 0, "followup", when.isoformat(), historical=historical)])
            if rnd.random() < 0.08:  # a licence partner reports the same SAE again
                partner = rnd.choice(PARTNERS)
                when = first + timedelta(days=rnd.randint(1, 10))
                copy_case = form_to_case(SAE_FORM.load(form))
                copy_case.admin.sender_safety_report_id = f"{partner}-{n_case:06}-C"
                copy_case.admin.worldwide_case_id = f"GB-{partner}-{n_case:06}-C"
                copy_case.admin.first_sender = "2"
                for r in copy_case.reactions:  # the partner codes what the site wrote
                    verbatim = str(r.verbatim)
                    r.coding = CodedTerm(verbatim=verbatim, code=EVENTS[verbatim],
                                         term=verbatim.capitalize(), level="LLT",
                                         family="MedDRA", version="27.1")
                _dates(copy_case, when, when)
                name = f"e2b/{partner}-{n_case:05}-copy.xml"
                add(when, name, _xml([copy_case], partner), {"path": name},
                    [Expected(name, 0, "partner_copy", when.isoformat(), when.isoformat(),
                              when.isoformat())])
            continue
        partner = rnd.choice(PARTNERS)
        group = 1 if rnd.random() < 0.9 else rnd.randint(2, 3)  # a multi-message batch
        cases: list[CaseVersionData] = []
        # C.1.4 before C.1.5 for some: the old system held information received earlier
        earlier = first - timedelta(days=rnd.choice((0, 0, 0, 3, 12)))
        for g in range(group):
            case = copy.deepcopy(rnd.choice(templates))
            cid = f"{partner}-{n_case:06}-{g}"
            case.admin.sender_safety_report_id = cid
            case.admin.worldwide_case_id = f"US-{cid}"
            case.admin.other_case_ids = []
            case.admin.other_case_ids_exist = None
            case.patient.initials = _initials(rnd)
            case.patient.birth_date = PartialDate.from_date(
                date(rnd.randint(1935, 2000), rnd.randint(1, 12), rnd.randint(1, 28)))
            case.patient.age_at_onset = None
            for r in case.reactions:
                r.start = PartialDate.from_date(first - timedelta(days=rnd.randint(1, 30)))
            _dates(case, earlier, first)
            cases.append(case)
        name = f"e2b/{partner}-{n_case:05}.xml"
        sub = _submitted(rnd, first, PARTNER_REGULATORS) if historical else None
        add(first, name, _xml(cases, partner),
            {"path": name, "historical": historical, **({"submitted": sub} if sub else {})},
            [Expected(name, g, "initial", first.isoformat(), earlier.isoformat(),
                      first.isoformat(), historical) for g in range(group)])
        for k, when in enumerate(followups, start=1):
            updated = []
            for case in cases:
                case = copy.deepcopy(case)
                case.narrative.narrative = f"Follow-up {k} received {when.isoformat()}."
                _dates(case, earlier, when)
                updated.append(case)
            cases = updated
            name = f"e2b/{partner}-{n_case:05}-fu{k}.xml"
            sub = _submitted(rnd, when, PARTNER_REGULATORS) if historical else None
            add(when, name, _xml(cases, partner),
                {"path": name, "historical": historical, **({"submitted": sub} if sub else {})},
                [Expected(name, g, "followup", when.isoformat(), earlier.isoformat(),
                          when.isoformat(), historical) for g in range(group)])
    items.sort(key=lambda i: (i.day, i.seq))
    out = Migration(folder / "manifest.json")
    total = 0
    for item in items:
        if total + len(item.expected) > reports:
            continue  # exactly the number asked for (a trailing file that would overshoot)
        total += len(item.expected)
        path = folder / item.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.content)
        out.expected.extend(item.expected)
    kept = {e.file for e in out.expected}
    manifest = [i.entry for i in items if i.name in kept]
    out.manifest.write_text(json.dumps(manifest, indent=0))
    return out


def verify(session: Any, lines: list[dict[str, Any]], m: Migration, zone: ZoneInfo
           ) -> dict[str, Any]:
    """Every report as the import printed it (``report_id``, ``file``; the messages of a file
    in order) against what it must have kept: its receipt day in the sponsor's zone, its case
    version's receipt, and for an E2B message C.1.4 (for a new case) and C.1.5. Returns the
    counts checked and every mismatch."""
    from sqlalchemy import select

    from safety.cases.codec import case_from_json
    from safety.cases.store import CaseVersion
    from safety.intake.store import MigratedReport, Report

    root = m.manifest.parent
    expected = {(e.file, e.index): e for e in m.expected}
    seen: dict[str, int] = defaultdict(int)
    ids = []
    keyed = {}
    for line in lines:
        rel = str(Path(line["file"]).relative_to(root))
        index = seen[rel]
        seen[rel] += 1
        rid = uuid.UUID(line["report_id"])
        ids.append(rid)
        keyed[rid] = expected.get((rel, index))
    mismatches: list[str] = []
    checked: Counter[str] = Counter()
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        rows = session.execute(
            select(Report, CaseVersion, MigratedReport.report_id)
            .outerjoin(CaseVersion, CaseVersion.id == Report.case_version_id)
            .outerjoin(MigratedReport, MigratedReport.report_id == Report.id)
            .where(Report.id.in_(chunk))).all()
        for report, version, migrated in rows:
            e = keyed.get(report.id)
            if e is None:
                mismatches.append(f"{report.id}: not in the migration")
                continue
            checked["reports"] += 1
            if migrated is None:
                mismatches.append(f"{e.file}: not recorded as migrated")
            day = report.received_at.astimezone(zone).date().isoformat()
            if day != e.received:
                mismatches.append(f"{e.file}#{e.index}: received {day}, expected {e.received}")
            if version is None:
                continue
            checked["versions"] += 1
            if version.report_id == report.id and version.received_at != report.received_at:
                mismatches.append(f"{e.file}#{e.index}: version received {version.received_at}")
            admin = case_from_json(version.data).admin
            if str(admin.most_recent_received) != e.received:
                mismatches.append(f"{e.file}#{e.index}: C.1.5 {admin.most_recent_received}, "
                                  f"expected {e.received}")
            checked["c15"] += 1
            if e.c14 is not None and version.version == 1 and version.report_id == report.id:
                checked["c14"] += 1
                if str(admin.first_received) != e.c14:
                    mismatches.append(f"{e.file}#{e.index}: C.1.4 {admin.first_received}, "
                                      f"expected {e.c14}")
    missing = len(m.expected) - checked["reports"]
    if missing:
        mismatches.append(f"{missing} expected reports not imported")
    return {"checked": dict(checked), "mismatches": mismatches[:50],
            "mismatch_count": len(mismatches)}

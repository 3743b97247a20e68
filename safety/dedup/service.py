"""The duplicate-screening stage: index the version and find suspected duplicates."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.model import CaseVersionData
from safety.cases.store import Case, CaseVersion, shared_working_data, working_data
from safety.coding.store import DRUG_FAMILIES, EVENT_FAMILIES, active_autocoder, active_release
from safety.config import Settings
from safety.dedup.decisions import DECIDED
from safety.dedup.matching import MatchResult
from safety.dedup.scoring import Model, load_model
from safety.dedup.store import (
    count_stale,
    decided_with,
    index_case,
    mark_for_reindex,
    match_stored,
    open_candidates,
    other_case,
    rekey_stored,
    save_candidates,
    stale_profiles,
)
from safety.dedup.terms import ConceptSource, folder_source, using
from safety.intake.status import ReportStatus
from safety.intake.store import Report


@cache
def model() -> Model:
    return load_model(None)


def concept_source(session: Session, settings: Settings) -> ConceptSource:
    """The dictionary events and drugs are reduced to concepts with: the one the installation
    codes with (``safety.coding.store.active_autocoder``: the active MedDRA/WHODrug or stored
    open dictionary release, else the open dictionary in ``settings.dictionaries``), without
    any sponsor's team synonyms, so that one release gives every sponsor's cases the same
    concepts. Nothing is built here: the coders are made at the first text resolved."""
    releases = []
    for families in (EVENT_FAMILIES, DRUG_FAMILIES):
        found = next((r for f in families if (r := active_release(session, f)) is not None),
                     None)
        releases.append(str(found.id) if found is not None else "-")
    if releases == ["-", "-"]:
        return folder_source(settings.dictionaries)
    folder = settings.dictionaries
    return ConceptSource(
        f"rel:{releases[0]}|{releases[1]}|{folder}",
        lambda: active_autocoder(session, "events", folder),
        lambda: active_autocoder(session, "drugs", folder))


def screen_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    data = shared_working_data(session, cv)  # read only
    with using(concept_source(session, settings)):
        result = match_stored(session, data, model(), cv.sponsor_id, case_id=str(cv.case_id))
        save_candidates(session, cv.case_id, cv.id, result, cv.sponsor_id)
        index_case(session, cv.case_id, data, cv.sponsor_id, cv.id)
    return {"candidates": len(result.candidates),
            "suspected": sum(1 for c in result.candidates if c.suspected)}


def open_candidates_of(session: Session, case: Case) -> list[dict[str, Any]]:
    """Candidates not yet decided, highest score first, with their explanation."""
    decided = decided_with(session, case.id, DECIDED)
    out = []
    for c in open_candidates(session, case.id, decided):
        other = session.get(Case, other_case(c, case.id))
        out.append({"candidate_case_id": str(other_case(c, case.id)),
                    "candidate_case_number": other.case_number if other else None,
                    "score": c.score, "suspected": c.suspected, "rule": c.rule,
                    "explanation": c.explanation})
    return out


def processed_reports(session: Session, sponsor_id: int,
                      settings: Settings) -> Iterator[tuple[str, CaseVersionData]]:
    """Every processed report of the sponsor, in receipt order, as its case version's working
    data (a scan never mixes two sponsors' cases); the installation's dictionary is current
    while the reports are consumed (the scan builds their profiles)."""
    rows = session.execute(
        select(Report.id, CaseVersion).join(CaseVersion, CaseVersion.report_id == Report.id)
        .where(Report.status == ReportStatus.PROCESSED, Report.sponsor_id == sponsor_id)
        .order_by(Report.received_at)
        .execution_options(yield_per=1000))
    with using(concept_source(session, settings)):
        for rid, cv in rows:
            yield str(rid), working_data(session, cv)


def report_candidates(session: Session, report_id: uuid.UUID, model: Model,
                      settings: Settings) -> MatchResult | None:
    """Candidates of one processed report against the cases held now (``None``: the report
    is not processed into a case)."""
    report = session.get(Report, report_id)
    if report is None or report.case_version_id is None:
        return None
    cv = session.get_one(CaseVersion, report.case_version_id)
    with using(concept_source(session, settings)):
        return match_stored(session, working_data(session, cv), model, cv.sponsor_id,
                            case_id=str(cv.case_id))


REINDEX_BATCH = 500

Progress = Callable[[int, int], None]


def reindex(session: Session, settings: Settings, sponsor_id: int,
            batch: int = REINDEX_BATCH, progress: Progress | None = None) -> int:
    """Re-index the sponsor's dedup profiles stored with another blocking-key scheme
    (``safety.dedup.blocking.KEYS_VERSION``) from the case version each was indexed from, so
    that new reports find the cases stored before the scheme changed; how many were.

    Batched and committed per batch: an interrupted run resumes where it stopped, and a run
    with nothing stale is one count query (``safety db upgrade`` runs it every time).
    ``progress(done, total)`` is told after each batch. A profile whose version is gone keeps
    its stored profile and gets its keys rebuilt from it."""
    total = count_stale(session, sponsor_id)
    done = 0
    if not total:
        return 0
    with using(concept_source(session, settings)):
        while rows := stale_profiles(session, sponsor_id, batch):
            for case_id, cv_id in rows:
                cv = session.get(CaseVersion, cv_id) if cv_id is not None else None
                if cv is None:
                    rekey_stored(session, case_id)
                else:
                    index_case(session, case_id, working_data(session, cv), sponsor_id, cv.id)
            session.commit()
            done += len(rows)
            if progress is not None:
                progress(min(done, total), total)
    return done


def concepts_changed(session: Session, reason: str) -> int:
    """A dictionary release that names concepts was activated (``reason``, e.g. ``release
    MedDRA 27.1``): every profile indexed with the concepts of the one before is marked due
    for re-indexing, of every sponsor (concepts are the installation's, ``concept_source``);
    how many were marked. Until re-indexed (``reindex``: ``safety dedup reindex``, ``safety
    db upgrade``) a stored case is found only by the keys its old concepts still share with
    a new report's. Idempotent: profiles already due are left as they are."""
    return mark_for_reindex(session, reason)

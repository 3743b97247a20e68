"""What happened to a stored report: processed into a case version, held for a person,
failed after its retries (visible to the team, retried by an operator), or rejected at the door
(an inbound message that could not be read at all: kept raw with its reason, never processed)."""

from __future__ import annotations

from enum import StrEnum

from safety.statemachine import StateMachine


class ReportStatus(StrEnum):
    RECEIVED = "received"  # stored, the clock running; waiting for a worker
    PROCESSED = "processed"  # a case version (or joined one: an identical re-send)
    HELD = "held"  # not a valid case yet, or names a nullified case: a person decides
    FAILED = "failed"  # processing gave up after its retries
    REJECTED = "rejected"  # not a readable ICSR: stored raw with the reason, answered AR


# Processed, held and rejected are final: a report is immutable and its case moves on without
# it. A failed report goes back to received when someone retries it. A rejected one is
# received and rejected in the same transaction: the reason is read before anything is told.
REPORT_STATUS: StateMachine[ReportStatus] = StateMachine("report status", {
    ReportStatus.RECEIVED: frozenset({ReportStatus.PROCESSED, ReportStatus.HELD,
                                      ReportStatus.FAILED, ReportStatus.REJECTED}),
    ReportStatus.FAILED: frozenset({ReportStatus.RECEIVED, ReportStatus.PROCESSED,
                                    ReportStatus.HELD}),
})

DONE = frozenset({ReportStatus.PROCESSED, ReportStatus.HELD, ReportStatus.REJECTED})

"""The export entry point: a case version to an E2B(R3) batch plus its conformance findings.

The checker always runs on the element tree that is serialised into the returned bytes (so the
file is not parsed a second time); a result with error findings is not ready to send
(``ready`` is False), whatever the caller does with the bytes. ``schemas`` and ``xsd_dir`` are
the checker's (``Settings.schemas_dir`` and ``Settings.e2b_xsd_dir`` at the callers).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from safety.cases.model import CaseVersionData
from safety.e2b.conformance import Finding, check_tree
from safety.e2b.writer import ExportHeader, build_batch, serialise
from safety.package_data import BUNDLED_SCHEMAS


@dataclass(slots=True)
class ExportResult:
    xml: bytes
    profile: str
    findings: list[Finding] = field(default_factory=list)
    batch_id: str = ""  # N.1.2
    message_ids: list[str] = field(default_factory=list)  # N.2.r.1, one per case, in order
    batch_receiver: str = ""  # N.1.4
    message_receiver: str = ""  # N.2.r.3

    @property
    def ready(self) -> bool:
        """Conformant: no error findings (warnings do not block sending)."""
        return not any(f.severity == "error" for f in self.findings)


def export_cases(cases: list[CaseVersionData], header: ExportHeader, *,
                 schemas: Path = BUNDLED_SCHEMAS, xsd_dir: Path | None = None) -> ExportResult:
    """Several case versions in one batch; the ids a submission tracker needs are returned."""
    ids = list(header.message_ids or [])
    ids += [str(uuid.uuid4()) for _ in range(len(cases) - len(ids))]
    header = replace(header, batch_id=header.batch_id or str(uuid.uuid4()), message_ids=ids)
    root = build_batch(cases, header)
    batch_receiver, message_receiver = header.receivers()
    findings = check_tree(root, header.profile, schemas=schemas, xsd_dir=xsd_dir)
    return ExportResult(serialise(root), header.profile, findings,
                        header.batch_id or "", ids, batch_receiver, message_receiver)


def export_case(case: CaseVersionData, header: ExportHeader, *,
                schemas: Path = BUNDLED_SCHEMAS, xsd_dir: Path | None = None) -> ExportResult:
    """One case version as a one-message batch for ``header.destination``, checked."""
    return export_cases([case], header, schemas=schemas, xsd_dir=xsd_dir)

"""The export entry point: a case version to an E2B(R3) batch plus its conformance findings.

The checker always runs on the element tree that is serialised into the returned bytes (so the
file is not parsed a second time); a result with error findings is not ready to send
(``ready`` is False), whatever the caller does with the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from safety.cases.model import CaseVersionData
from safety.e2b.conformance import Finding, check_tree
from safety.e2b.writer import ExportHeader, build_batch, serialise


@dataclass(slots=True)
class ExportResult:
    xml: bytes
    profile: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Conformant: no error findings (warnings do not block sending)."""
        return not any(f.severity == "error" for f in self.findings)


def export_cases(cases: list[CaseVersionData], header: ExportHeader) -> ExportResult:
    root = build_batch(cases, header)
    return ExportResult(serialise(root), header.profile, check_tree(root, header.profile))


def export_case(case: CaseVersionData, header: ExportHeader) -> ExportResult:
    """One case version as a one-message batch for ``header.destination``, checked."""
    return export_cases([case], header)

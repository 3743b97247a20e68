"""One gate every output of a blinded study's case passes: it names its audience, gets the
blinded or the unblinded case accordingly, and a blinded document is checked for leaks before
it is returned.

Wiring another output (CIOMS I PDF, line listings) is: call :func:`case_for` with the output's
audience to get the case to render (or :func:`safety.blinding.mask.blind_json` over its view
model), render, then :func:`check_rendered` on the rendered text (for a PDF, its extracted
text) before it leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safety.blinding.audience import MAY_BE_UNBLINDED, Audience, BlindingError, check_output
from safety.blinding.mask import ArmSecrets, blind_case, leaks, unblind_case
from safety.blinding.randomisation import Assignment
from safety.cases.model import CaseVersionData
from safety.e2b.export import ExportResult, export_case
from safety.e2b.writer import ExportHeader
from safety.package_data import BUNDLED_SCHEMAS


@dataclass(frozen=True, slots=True)
class Reveal:
    """A subject's revealed assignment and the name of the product the arm gives."""

    assignment: Assignment
    product_name: str


@dataclass(frozen=True, slots=True)
class Blinding:
    """A case's blinding situation: its study's secrets, and the reveal if there was one.
    ``secrets`` is None for an open study (nothing to hide)."""

    secrets: ArmSecrets | None
    reveal: Reveal | None = None


def case_for(case: CaseVersionData, audience: Audience, blinding: Blinding,
             *, unblinded: bool = False) -> CaseVersionData:
    """The case an output for ``audience`` is built from. ``unblinded`` asks for the
    revealed treatment: refused for a blind audience, and without a reveal."""
    check_output(audience, unblinded)
    if blinding.secrets is None:
        return case
    if unblinded:
        if blinding.reveal is None:
            raise BlindingError("unblinded: the subject's assignment has not been revealed")
        return unblind_case(case, blinding.reveal.assignment, blinding.reveal.product_name,
                            blinding.secrets)
    return blind_case(case, blinding.secrets)


class BlindLeak(BlindingError):
    """A blinded document still names an arm-revealing value after masking: not produced (a
    fault of the masking, not of the request)."""


def check_rendered(text: str, audience: Audience, blinding: Blinding,
                   *, unblinded: bool = False) -> None:
    """Refuse a rendered blinded document that still names an arm-revealing value."""
    if blinding.secrets is None or (unblinded and MAY_BE_UNBLINDED[audience]):
        return
    found = leaks(text, blinding.secrets)
    if found:
        raise BlindLeak(f"output: the {audience.value} document would reveal the arm "
                            f"({len(found)} value(s)); not produced")


def e2b_for(case: CaseVersionData, header: ExportHeader, audience: Audience,
            blinding: Blinding, *, unblinded: bool = False, schemas: Path = BUNDLED_SCHEMAS,
            xsd_dir: Path | None = None) -> ExportResult:
    """The E2B(R3) message of ``case`` for ``audience``: unblinded for a regulator after the
    reveal, blinded for an ethics committee or an investigator."""
    result = export_case(case_for(case, audience, blinding, unblinded=unblinded), header,
                         schemas=schemas, xsd_dir=xsd_dir)
    check_rendered(result.xml.decode("utf-8"), audience, blinding, unblinded=unblinded)
    return result

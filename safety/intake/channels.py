"""How each intake channel's stored payload becomes case data."""

from __future__ import annotations

from typing import Any

from safety.cases.codec import case_from_json
from safety.cases.model import CaseVersionData
from safety.intake.sae_form import form_to_case
from safety.intake.schemas import SAEFormSchema

CHANNELS = ("site_form", "e2b", "literature", "spontaneous")
# One schema, built once (its nested schemas are built with it): loading keeps no state.
_SAE_FORM = SAEFormSchema()


class UnknownChannel(ValueError):
    pass


def payload_to_case(channel: str, payload: Any) -> CaseVersionData:
    """Site forms are re-validated with the contract they were accepted under; E2B messages
    were parsed at intake and stored as case JSON next to their raw XML."""
    if channel == "site_form":
        return form_to_case(_SAE_FORM.load(payload))
    if channel in ("e2b", "literature", "spontaneous"):
        return case_from_json(payload["case"])
    raise UnknownChannel(f"unknown report channel {channel!r}")


def read_findings(channel: str, payload: Any) -> list[dict[str, str]]:
    """What reading an E2B message found wrong without refusing it (a dangling reference, a
    date read in spite of its form, ...): kept with the payload, the report's findings once
    processed."""
    if channel != "e2b" or not isinstance(payload, dict):
        return []
    return list(payload.get("findings") or [])

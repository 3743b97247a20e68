"""Factories for SAE forms: a valid form by default, override what a test is about."""

from __future__ import annotations

import copy
from typing import Any


def sae_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "sae_id": "ONC-301-101-SAE001",
        "report_type": "initial",
        "awareness_date": "2026-11-02",
        "study": {"protocol_number": "ONC-301", "name": "Phase III pembrolizumab NSCLC"},
        "site": {"number": "101", "country": "GB"},
        "subject": {"id": "101-004", "initials": "JD", "sex": "female",
                    "birth_date": "1961-04"},
        "reporter": {"given_name": "Ruth", "family_name": "Okafor",
                     "qualification": "physician", "country": "GB"},
        "events": [{
            "verbatim": "febrile neutropenia", "onset_date": "2026-10-30", "serious": True,
            "seriousness": ["hospitalisation"], "ctcae_grade": 3, "outcome": "recovering",
            "causality": [{"drug": "IMP", "assessment": "related"}],
        }],
        "drugs": [{"ref": "IMP", "name": "pembrolizumab", "role": "suspect",
                   "investigational": True, "dose": {"value": 200, "unit": "mg"},
                   "route": "intravenous", "start_date": "2026-08-01",
                   "action_taken": "withdrawn", "indication": "NSCLC"}],
        "narrative": "Subject admitted with fever 39.2C and ANC 0.3.",
    }
    result = copy.deepcopy(form)
    result.update(overrides)
    return result

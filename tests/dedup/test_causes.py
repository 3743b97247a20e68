"""One realistic pair per known cause of missed or wrong duplicate links (issue 21).

Each expected outcome was written before the fix and failed against the code before it.
"""

from __future__ import annotations

from factories.dedup import make_case

from safety.dedup.blocking import blocking_keys
from safety.dedup.comparison import outcomes
from safety.dedup.profile import build_profile


def test_subject_with_and_without_site_prefix_is_the_same_subject() -> None:
    """The site writes ``<site>-<subject>``; the partner's E2B carries the subject number only."""
    site = make_case(study="ACME-301", subject="014-0231")
    partner = make_case(study="ACME-301", subject="0231", sender="Borealis", report_id="B-77")
    other_site = make_case(study="ACME-301", subject="015-0231", report_id="FR-ACME-2024-9")
    a, b, c = build_profile(site), build_profile(partner), build_profile(other_site)
    assert outcomes(a, b)["subject"] == "same"
    assert any(k.startswith("sub|") for k in blocking_keys(a) & blocking_keys(b))
    assert outcomes(a, c)["subject"] == "different"  # same number at another site: other patient
    squashed = build_profile(make_case(study="ACME-301", subject="0140231"))
    assert outcomes(a, squashed)["subject"] == "same"

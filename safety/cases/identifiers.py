"""Case identifiers.

The worldwide unique case identification number (E2B(R3) C.1.8.1) has the form
``<country>-<organisation>-<local case number>`` (ICH E2B(R3) IG, section 3.3.2, C.1.8.1:
"country code of the primary source, regulator or company name, unique case number").
"""

from __future__ import annotations

import re
import unicodedata

from safety.cases.values import NullFlavor


def case_number(prefix: str, year: int, seq: int) -> str:
    """The human-facing case number used in the queue (``SD-2026-000042``): the sponsor's
    prefix, the year of receipt and the sponsor's own sequence."""
    return f"{prefix}-{year}-{seq:06d}"


def worldwide_case_id(country: str, org_code: str, year: int, seq: int) -> str:
    country = country.upper() if re.fullmatch(r"[A-Za-z]{2}", country or "") else "XX"
    org = re.sub(r"[^A-Z0-9]", "", org_code.upper()) or "SAFETYDESK"
    return f"{country}-{org}-{year}{seq:06d}"


def norm_text(value: object) -> str | None:
    """Lower-case ASCII words separated by single spaces; ``None`` for absent/null-flavoured."""
    if value is None or isinstance(value, NullFlavor) or not isinstance(value, str):
        return None
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", " ", folded.lower()).strip()
    return out or None


def norm_id(value: object) -> str | None:
    """Identifiers compare without case, spaces or punctuation (``001-0023`` ≡ ``0010023``)."""
    text = norm_text(value)
    return text.replace(" ", "").upper() if text else None

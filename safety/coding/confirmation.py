"""Which automatic codes a person must confirm before the case moves on.

An event's code drives expectedness, the IME/DME lists and the E2B message, so a code the
reporter's words do not plainly name is a medical decision, not a lookup (ICH E2B(R3) E.i.2.1;
MedDRA Term Selection: Points to Consider, 2.1 "if the reported term does not match an LLT,
the closest LLT is chosen by medical judgement"):

- a **fuzzy** match is the computer's guess at what the reporter meant: always confirmed;
- a **synonym** that leads to a term with other words than the verbatim ("pulmonary embolism"
  to "Thromboembolic event") may name a broader or a different concept: confirmed, unless the
  sponsor's own team made that synonym (it is then a recorded decision of theirs);
- an exact match of the dictionary's own term, or a synonym that differs only in spelling
  ("anaemia"/"anemia"), needs nothing.
"""

from __future__ import annotations

from safety.coding.autocoder import words_agree
from safety.coding.normalise import event_keys
from safety.coding.terminology import TEAM


def confirmation_reason(method: str, origin: str | None, verbatim: str,
                        term: str | None) -> str | None:
    """Why a person must confirm this code (``None``: the code may stand as coded)."""
    if method == "fuzzy":
        return f"fuzzy match: '{verbatim}' was matched to '{term}' by similarity"
    if method != "synonym" or origin == TEAM or not term:
        return None
    if words_agree(event_keys(verbatim).full, event_keys(term).full):
        return None
    return (f"synonym: '{verbatim}' is coded to '{term}', which the verbatim does not name; "
            "confirm it is the same concept")

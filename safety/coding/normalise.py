"""Normalisation of verbatims and dictionary names into comparable keys.

Coding compares what a reporter wrote with what a dictionary calls a concept. Both sides go
through the same folding (case, accents, punctuation, UK/US spelling, clinical abbreviations),
so a match never depends on typography. The spelling, abbreviation, qualifier and placeholder
lists are team-curated data files in ``dictionaries/curation/`` (see its README), not code.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from safety.coding.paths import curation_dir

_TOKEN = re.compile(r"[a-z0-9]+(?:[/+][a-z0-9]+)*")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "ð": "d"})
_PARENTHESES = re.compile(r"\(.*?\)")
_WORD = re.compile(r"[a-z0-9]+")
# A research code ("MK-3475", "STI571", "CI-981") is one token: its digits are not a dose.
_RESEARCH_CODE = re.compile(r"\b([a-z]{1,6})-?(\d{3,}[a-z]?)\b")
_DOSE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:mg|mcg|ug|µg|g|gm|kg|ml|l|iu|units?|meq|mmol|%|mg/ml|mg/kg|mcg/h)\b"
    r"|\b\d+(?:[.,]\d+)?\s*(?:x|/)\s*\d+\b|\b\d+(?:[.,]\d+)?\b"
)


@dataclass(frozen=True, slots=True)
class Rules:
    """The curated word lists that drive normalisation, loaded once per directory."""

    uk_to_us: tuple[tuple[str, str], ...]
    abbreviations: dict[str, str]
    qualifiers: frozenset[str]
    non_events: frozenset[str]
    drug_form_words: frozenset[str]
    spelling_pattern: re.Pattern[str] | None
    spelling_map: dict[str, str]

    @classmethod
    def from_dir(cls, directory: Path) -> Rules:
        with (directory / "spelling_uk_us.csv").open(encoding="utf-8", newline="") as fh:
            pairs = tuple(
                sorted(
                    ((r["uk"], r["us"]) for r in csv.DictReader(fh)),
                    key=lambda p: -len(p[0]),
                )
            )
        with (directory / "abbreviations.csv").open(encoding="utf-8", newline="") as fh:
            abbreviations = {r["abbreviation"]: r["expansion"] for r in csv.DictReader(fh)}
        pattern = re.compile("|".join(re.escape(uk) for uk, _ in pairs)) if pairs else None
        rules = cls(
            uk_to_us=pairs,
            abbreviations={},
            qualifiers=frozenset(_word_list(directory / "qualifiers.txt")),
            non_events=frozenset(),
            drug_form_words=frozenset(_word_list(directory / "drug_form_words.txt")),
            spelling_pattern=pattern,
            spelling_map=dict(pairs),
        )
        # Expansions and placeholders are themselves normalised so they compare as keys do.
        expanded = {k: " ".join(rules.fold_tokens(v)) for k, v in abbreviations.items()}
        object.__setattr__(rules, "abbreviations", expanded)
        non_events = frozenset(
            event_keys(t, rules).full for t in _word_list(directory / "non_events.txt")
        )
        object.__setattr__(rules, "non_events", non_events)
        return rules

    def fold_tokens(self, text: str) -> list[str]:
        """Lower-case, accent-free, punctuation-free tokens in US spelling."""
        if not text.isascii():
            text = unicodedata.normalize("NFKD", text)
            text = "".join(c for c in text if not unicodedata.combining(c))
            text = text.lower().translate(_LIGATURES)
        else:
            text = text.lower()
        if "&" in text or "'" in text or "’" in text:
            text = text.replace("&", " and ").replace("’", "'").replace("'s", "")
        # UK forms never span a word boundary, so one pass over the text equals one per word.
        return _TOKEN.findall(self.us_spelling(text))

    def us_spelling(self, token: str) -> str:
        if self.spelling_pattern is None:
            return token
        mapping = self.spelling_map
        return self.spelling_pattern.sub(lambda m: mapping[m.group(0)], token)


def _word_list(path: Path) -> Iterable[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def rules_for(directory: Path | None = None) -> Rules:
    """The rules of a curation folder (default: the bundled dictionary's)."""
    return _rules(directory or curation_dir())


@lru_cache(maxsize=4)
def _rules(directory: Path) -> Rules:
    # keyed by the folder itself, so the default and the same folder named share one entry
    return Rules.from_dir(directory)


@dataclass(frozen=True, slots=True)
class Keys:
    """The two lookup keys of a text: ``full`` keeps every word, ``core`` drops qualifiers.

    Dictionary names are indexed under both; a verbatim is tried on ``full`` first so that a
    name which itself contains a qualifier word ("Severe acute respiratory syndrome") still
    matches exactly.
    """

    full: str
    core: str


def event_keys(text: str, rules: Rules | None = None) -> Keys:
    rules = rules or rules_for()
    out: list[str] = []
    for token in rules.fold_tokens(text):
        expansion = rules.abbreviations.get(token)
        if expansion is not None:
            out.extend(expansion.split())
        else:
            out.extend(token.replace("/", " ").replace("+", " ").split())
    full = " ".join(out)
    core = " ".join(t for t in out if t not in rules.qualifiers)
    return Keys(full, core or full)


def is_non_event(keys: Keys, rules: Rules | None = None) -> bool:
    """True for placeholders ("see narrative") and texts with no words at all."""
    rules = rules or rules_for()
    return not keys.full or keys.full in rules.non_events or keys.core in rules.non_events


def drug_key(text: str, rules: Rules | None = None) -> str:
    """A product or substance name without strength, dose form, route or frequency words.

    "Tylenol 500mg tab" and "TYLENOL" give the same key; salt words are kept because the salt
    decides the UNII (the active moiety is reached through the substance's parent link).
    """
    rules = rules or rules_for()
    if text.isascii():
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = text.lower().translate(_LIGATURES)
    if "(" in text and not text.startswith("("):
        text = _PARENTHESES.sub(" ", text)
    if any(c.isdigit() for c in text):
        text = _DOSE.sub(" ", _RESEARCH_CODE.sub(r"\1\2", text))
    forms = rules.drug_form_words
    words = _WORD.findall(rules.us_spelling(text))
    return " ".join(t for t in words if t not in forms)

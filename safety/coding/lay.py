"""The lay-language layer: consumer phrasing rewritten into candidate medical phrasings.

Patients and callers do not write "pruritus" or "pain in extremity"; they write "can't stop
scratching" and "my legs are killing me". Rewriting happens before lookup, and every reading
is then coded by the same exact/fuzzy (and, when installed, semantic) machinery, so a lay
reading can never produce a concept the dictionary does not hold.

What the rules do, in order (the vocabulary is data: ``dictionaries/curation/
lay_vocabulary.csv``, one row per rule, team-written from public descriptions of consumer
health language; no openly licensed consumer health vocabulary is installable from the
package registries, see docs/coding.md):

1. fold: lower case, apostrophes dropped ("can't" -> "cant"), punctuation to spaces;
2. time words removed ("since starting", "every night", "for three days", "after each dose"):
   when something happened is not what happened;
3. inability forms ("couldn't", "unable to", "trouble", "hard to") become one word, "cant";
4. lay phrases become medical ones, longest first ("pins and needles" -> "paresthesia");
5. filler and intensifier words dropped ("really", "so", "my", "feel");
6. body part + sensation in any order becomes a concept ("my knees hurt" -> "arthralgia",
   "lips swelled up" -> "lip oedema");
7. a text that starts with a denial ("no rash", "denies headache") is *negated*: it may be
   suggested but is never auto-coded.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

_FOLD = re.compile(r"[^a-z0-9]+")
_TIME = re.compile(
    r"\b(?:since (?:starting(?: it)?|the (?:dose|injection|jab|chemo)[a-z ]*?|i started[a-z ]*?"
    r"|yesterday|last (?:week|night|month)|(?:monday|tuesday|wednesday|thursday|friday|saturday"
    r"|sunday)|chemo|then))"
    r"|\b(?:for|over|in) (?:the (?:last|past) )?(?:a|an|one|two|three|four|five|six|seven|ten"
    r"|few|several|\d+) (?:minutes?|hours?|days?|weeks?|months?|years?)"
    r"|\b(?:every|each|all|most) (?:day|night|morning|evening|afternoon|week|month|time)s?"
    r"|\b(?:at|during the|in the|through the) (?:night|morning|evening|afternoon)s?"
    r"|\b(?:last|this|tonight|today|yesterday) ?(?:night|morning|evening|afternoon|week)?\b"
    r"|\b(?:after|before|with) (?:each|every|the|my|a) (?:dose|meal|injection|jab|shot|tablet)s?"
    r"|\b(?:after|before) (?:meals|eating|dose|dosing)"
    r"|\b(?:\d+|one|two|three|four|five) times?(?: a (?:day|night|week))?"
    r"|\b(?:twice|once)(?: (?:this|a|last) (?:week|day|night|month))?"
    r"|\b(?:on and off|now and then|all the time|for days|for weeks|for hours|for ages"
    r"|constantly|always|again|anymore|any more|lately|recently|suddenly|sometimes)\b"
)


_JOINING = frozenset({"and", "with", "plus", "also", "then", "or"})
_JOINED = re.compile(r"\b(?:and|with|plus|also|then)\b")


@dataclass(frozen=True, slots=True)
class LayReading:
    """The medical readings of one verbatim, best first, and whether it denies an event."""

    queries: tuple[str, ...]
    negated: bool = False
    parts: tuple[str, ...] = field(default=())  # body parts named, for explanation
    multiple: bool = False  # two different lay phrases: two events, for a person to split
    # Words still joined by "and"/"with" after the rules, or nothing left but filler: a
    # similarity score says little about such a text, so it is never auto-coded on one.
    vague: bool = False


@dataclass(frozen=True, slots=True)
class LayRules:
    phrases: dict[str, str]
    longest: int
    fillers: frozenset[str]
    parts: dict[str, str]
    sensations: dict[str, str]
    combos: dict[tuple[str, str], str]
    unable: re.Pattern[str] | None
    negations: tuple[str, ...]

    @classmethod
    def from_file(cls, path: Path) -> LayRules:
        phrases: dict[str, str] = {}
        fillers: set[str] = set()
        parts: dict[str, str] = {}
        sensations: dict[str, str] = {}
        combos: dict[tuple[str, str], str] = {}
        unable: list[str] = []
        negations: list[str] = []
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                rule, lay, medical = row["rule"], fold(row["lay"]), row["medical"].strip().lower()
                if rule == "phrase":
                    phrases[lay] = medical
                elif rule == "filler":
                    fillers.add(lay)
                elif rule == "part":
                    parts[lay] = medical
                elif rule == "sensation":
                    sensations[lay] = medical
                elif rule == "combo":
                    part, _, sensation = lay.partition(" ")
                    combos[(part, sensation)] = medical
                elif rule == "unable":
                    unable.append(lay)
                elif rule == "negation":
                    negations.append(lay)
                else:
                    raise ValueError(f"{path.name}: unknown rule {rule!r}")
        pattern = (
            re.compile(r"\b(?:" + "|".join(re.escape(u) for u in
                                           sorted(unable, key=len, reverse=True)) + r")\b")
            if unable else None
        )
        longest = max((len(p.split()) for p in [*phrases, *parts]), default=1)
        return cls(phrases, longest, frozenset(fillers), parts, sensations, combos, pattern,
                   tuple(sorted(negations, key=len, reverse=True)))

    def read(self, verbatim: str) -> LayReading:
        text = fold(verbatim)
        text = " ".join(_TIME.sub(" ", text).split())
        if self.unable is not None:
            text = " ".join(self.unable.sub("cant", text).split())
        negated = False
        for neg in self.negations:
            if text.startswith(neg + " "):
                rest = text[len(neg) + 1:]
                # "no appetite", "not hungry", "no energy" are events in themselves.
                if not any(text.startswith(p) for p in self.phrases if p.startswith(neg + " ")):
                    negated, text = True, rest
                break
        words = text.split()
        mapped = self._phrases(words)
        found = {w for w in mapped if w in self._medical}
        kept = [w for w in mapped if w not in self.fillers]
        queries: list[str] = []
        combo, named = self._combo(kept)
        if combo:
            queries.append(combo)
        for q in (" ".join(kept), " ".join(mapped)):
            if q and q not in queries:
                queries.append(q)
        if combo:
            found.add(combo)
        # Two concepts named and joined ("rash and itching"), or a body-part reading beside a
        # different lay phrase ("sore arm at injection site"): a person splits or chooses.
        joined = bool(_JOINED.search(text)) or "," in verbatim or combo is not None
        vague = not kept or any(w in _JOINING for w in kept) or "," in verbatim
        return LayReading(tuple(queries), negated, named, joined and len(found) > 1, vague)

    @property
    def _medical(self) -> frozenset[str]:
        return frozenset(self.phrases.values())

    def _phrases(self, words: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                chunk = " ".join(words[i:i + n])
                medical = self.phrases.get(chunk)
                if medical is not None:
                    out.append(medical)
                    i += n
                    break
                if n > 1 and chunk in self.parts:
                    out.append(chunk.replace(" ", "_"))  # "back passage": one body part
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def _combo(self, words: list[str]) -> tuple[str | None, tuple[str, ...]]:
        spelled = [w.replace("_", " ") for w in words]
        parts = [self.parts[w] for w in spelled if w in self.parts]
        feelings = [self.sensations[w] for w in words if w in self.sensations]
        named = tuple(dict.fromkeys(parts))
        if len(named) != 1 or not feelings:
            return None, named
        feeling = feelings[0]
        medical = self.combos.get((named[0], feeling))
        if medical is None and feeling == "pain":
            medical = f"{named[0]} pain"
        return medical, named


def fold(text: str) -> str:
    text = text.lower().replace("’", "'").replace("'", "")
    return " ".join(_FOLD.sub(" ", text).split())


def lay_rules(curation: Path) -> LayRules | None:
    """The lay rules of a curation folder, or None where the folder has none (a licensee's
    MedDRA release is coded with the bundled folder's rules)."""
    path = curation / "lay_vocabulary.csv"
    return _load(path) if path.is_file() else None


@lru_cache(maxsize=4)
def _load(path: Path) -> LayRules:
    return LayRules.from_file(path)

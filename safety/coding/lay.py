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
4. lay phrases become medical ones, longest first ("pins and needles" -> "paresthesia"); a
   phrase also matches in other inflections of its words ("trouble seeing" -> "cant seeing"
   matches "cant see"; "itches" matches "itch"), and a phrase with no medical side is an
   intensifier dropped ("cant stop" in "can't stop coughing": not an inability);
5. filler and intensifier words dropped ("really", "so", "my", "feel"); the phrases are then
   looked for again in what is left ("eyes are so itchy" -> "eyes itchy");
6. body part + sensation in any order becomes a concept ("my knees hurt" -> "arthralgia",
   "lips swelled up" -> "lip oedema");
7. a text that starts with a denial ("no rash", "denies headache") is *negated*: it may be
   suggested but is never auto-coded.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
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


_NEAR = re.compile(r"\b(?:almost|nearly|near|close to|going to|gonna|about to|verge of)\b")
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
    # The body-part reading (``combo``) and the words it leaves unread: when one of them is
    # an event of its own ("itchy red rash on my arms" is not only "pruritus"), the coder
    # does not auto-code the body-part reading.
    combo: str | None = None
    rest: tuple[str, ...] = ()


def stem(word: str) -> str:
    """A crude inflection fold (no dictionary): -ing, -ed, -es, -s, then a final -e, off a
    word long enough, so that a phrase written in one form matches the others ("peeing" and
    "pee", "itches" and "itch", "bruised" and "bruises"). Only used to match the
    vocabulary's own phrases with each other, never dictionary terms."""
    base = word
    if len(word) >= 6 and word.endswith("ing"):
        base = word[:-3]
    elif len(word) >= 5 and word.endswith("ed"):
        base = word[:-2]
    elif len(word) >= 5 and word.endswith(("ches", "shes", "sses", "xes")):
        base = word[:-2]
    elif len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        base = word[:-1]
    if base != word and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "els":
        base = base[:-1]  # "stopped", "shopping"; not "swelling", "pressing"
    if len(base) >= 4 and base.endswith("e"):
        base = base[:-1]
    return base


def stem_phrase(phrase: str) -> str:
    return " ".join(stem(w) for w in phrase.split())


def stemmed_phrases(phrases: dict[str, str]) -> dict[str, str]:
    """The phrases by stems; a stem shared by phrases of different meanings is left out."""
    stemmed: dict[str, str] = {}
    clashes: set[str] = set()
    for lay, medical in phrases.items():
        if " " not in lay and stem(lay) != lay:
            # One word: only its base form is matched in other forms ("spewing" -> "spew");
            # "spotting" is not "spots", "tripping" is not "tripped".
            continue
        key = stem_phrase(lay)
        if stemmed.get(key, medical) != medical:
            clashes.add(key)
        stemmed.setdefault(key, medical)
    for key in clashes:
        del stemmed[key]
    return stemmed


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
    # Phrases by their words' stems; a stem two phrases of different meaning share is left
    # out (no guessing between them).
    stemmed: dict[str, str] = field(default_factory=dict)

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
                   tuple(sorted(negations, key=len, reverse=True)), stemmed_phrases(phrases))

    def read(self, verbatim: str) -> LayReading:
        return self._read(verbatim, None)

    def rules_used(self, verbatim: str) -> set[tuple[str, str]]:
        """The vocabulary rows (``("phrase", lay)`` as written, ``("combo", "part
        sensation")``) that reading this text uses: evaluation leaves a text's own rows out
        to estimate how the rules do on texts they were not written from."""
        used: set[tuple[str, str]] = set()
        self._read(verbatim, used)
        return used

    def without(self, rows: set[tuple[str, str]]) -> LayRules:
        """These rules less some phrase and combo rows (see :meth:`rules_used`)."""
        phrases = {k: v for k, v in self.phrases.items() if ("phrase", k) not in rows}
        combos = {k: v for k, v in self.combos.items() if ("combo", " ".join(k)) not in rows}
        return replace(self, phrases=phrases, combos=combos,
                       stemmed=stemmed_phrases(phrases))

    def _read(self, verbatim: str, used: set[tuple[str, str]] | None) -> LayReading:
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
        mapped = self._phrases(words, used)
        kept = [w for w in mapped if w not in self.fillers]
        # Phrases split by filler words ("eyes are so itchy"): looked for again without them.
        again = self._phrases(kept, used)
        if again != kept:
            kept = [w for w in again if w not in self.fillers]
        # Concepts named (a misspelt body part, "noze" -> "nose", is not one; the phrase a
        # body-part reading takes its sensation from is counted through that reading).
        found = {w for w in [*mapped, *kept] if w in self._medical and w not in self.parts}
        queries: list[str] = []
        combo, named, feeling = self._combo(kept, used)
        found.discard(feeling or "")
        unread = tuple(w for w in kept if w.replace("_", " ") not in self.parts
                       and w not in self.sensations) if combo else ()
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
        # "can't" before a concept the rules read ("can't nod off": not somnolence) denies
        # it or names its opposite: for a person.
        # "Almost fainted", "going to be sick": the event nearly happened, which is often a
        # concept of its own (presyncope, nausea) the similarity does not tell apart.
        vague = vague or _NEAR.search(text) is not None or any(
            a == "cant" and b in self._medical for a, b in pairwise(mapped))
        # A body-part reading joined to words it does not read ("panic attack with racing
        # heart"): the other words may be the event; two events for a person.
        multiple = (joined and len(found) > 1) or (
            combo is not None and any(w in _JOINING for w in unread))
        return LayReading(tuple(queries), negated, named, multiple, vague, combo, unread)

    @property
    def _medical(self) -> frozenset[str]:
        return frozenset(self.phrases.values())

    def _phrases(self, words: list[str],
                 used: set[tuple[str, str]] | None = None) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                chunk = " ".join(words[i:i + n])
                medical = self.phrases.get(chunk)
                if medical is None and (n > 1 or chunk.endswith("ing")):
                    # One word in another form only from its -ing form ("spewing" ->
                    # "spew"; "winded" is not "wind").
                    medical = self.stemmed.get(stem_phrase(chunk))
                if medical is not None:
                    if used is not None and chunk in self.phrases:
                        used.add(("phrase", chunk))
                    if medical:  # an empty medical side: an intensifier, dropped
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

    def _combo(self, words: list[str], used: set[tuple[str, str]] | None = None,
               ) -> tuple[str | None, tuple[str, ...], str | None]:
        """The body-part reading, the parts named, and the word that gave its sensation.

        The first sensation that makes a known pair with the part wins ("itching and lips
        swelled up": lips + swelling, not lips + itch, which names nothing)."""
        spelled = [w.replace("_", " ") for w in words]
        parts = [self.parts[w] for w in spelled if w in self.parts]
        named = tuple(dict.fromkeys(parts))
        feelings = [(w, self.sensations[w]) for w in words if w in self.sensations]
        if len(named) != 1 or not feelings:
            return None, named, None
        for word, feeling in feelings:
            medical = self.combos.get((named[0], feeling))
            if medical is not None:
                if used is not None:
                    used.add(("combo", f"{named[0]} {feeling}"))
                return medical, named, word
        for word, feeling in feelings:
            if feeling == "pain":
                return f"{named[0]} pain", named, word
        return None, named, None


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

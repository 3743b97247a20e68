"""The lay-language layer: consumer phrasing rewritten into candidate medical phrasings.

Patients and callers do not write "pruritus" or "pain in extremity"; they write "can't stop
scratching" and "my legs are killing me". Rewriting happens before lookup, and every reading
is then coded by the same exact/fuzzy (and, when installed, semantic) machinery, so a lay
reading can never produce a concept the dictionary does not hold.

What the rules do, in order (the vocabulary is data: ``dictionaries/curation/
lay_vocabulary.csv``, one row per rule, team-written from public descriptions of consumer
health language; no openly licensed consumer health vocabulary is installable from the
package registries, see docs/coding.md):

0. the framing a report wraps the event in is read away (``framing.py``: "caller states",
   "pt c/o", "since starting the new tablets", "2 hrs after 1st dose", "which is really
   annoying"; note abbreviations written out), round 6;
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

from safety.coding.framing import expand_abbreviations, read_away

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


# Clause boundaries: a denial holds for its own clause only ("no pain, my hands just won't
# stop shaking", "chills but no fever": the event is the other clause).
_CLAUSE = re.compile(r"\s*[,;.]\s*|\s+\b(?:but|just|only|though|although|yet)\b\s+")
# A vaccination or injection named with where it went in ("sore arm where I had the jab",
# "red patch at the injection site"): the event is a reaction at the site, not in the limb.
_VACCINE = re.compile(r"\b(?:jabs?|vaccines?|vaccinations?|vaccinated|boosters?|immuni[sz]ations?"
                      r"|shots?|flu jab|covid jab)\b")
_INJECTION = re.compile(r"\b(?:inject(?:ed|ion|ions|ing)?|needle)\b")
# Where a vaccine or an injection goes in (round 6: a limb or joint in general was taken,
# so "my knees hurt since my second jab" read as a vaccination site reaction).
_JAB_PARTS = re.compile(r"\b(?:upper )?(?:arm|shoulder|deltoid|thigh|buttock)\b")  # one of them
_INJECTED_PARTS = re.compile(r"\b(?:tummy|belly|stomach|abdomen)\b")  # insulin, heparin
_SITE_WORDS = re.compile(r"\b(?:where|site|spot|went in|go in|goes in)\b")
# The whole body ("itchy all over", "red all over my body"): MedDRA's generalised terms.
_ALL_OVER = re.compile(r"\b(?:all over(?: (?:my|his|her|the|their))?(?: (?:body|skin))?"
                       r"|whole body|entire body|everywhere|head to toe)\b")
_WHOLE_LIMB = re.compile(r"\b(?:whole|entire|full|all of (?:my|his|her|the))\b")
# A body part after one of these is where the first part is ("glands in my neck are sore":
# the glands hurt; "a rash on my arms").
_LOCATIVE = frozenset({"in", "on", "under", "round", "around", "behind", "near", "at", "inside",
                       "over", "below", "above", "between"})
_DETERMINERS = frozenset({"my", "the", "his", "her", "their", "our", "your", "a", "both", "left",
                          "right", "one", "lower", "upper"})
# What a reaction at a vaccination or injection site is called in the dictionary, by the
# sensation the text names (tried in order; only dictionary keys are coded).
SITE_TERMS: dict[str, tuple[str, ...]] = {
    "pain": ("pain",), "swelling": ("swelling", "oedema"), "itch": ("pruritus",),
    "red": ("erythema",), "numb": ("hypoesthesia", "anaesthesia"),
    "tingling": ("paraesthesia",), "lump": ("mass", "nodule"), "bruise": ("bruising",),
    "bleeding": ("haemorrhage",), "hot": ("warmth",), "rash": ("rash",),
    "hard": ("induration",), "stiff": ("movement impairment",),
}
_SITE_THINGS = frozenset({"lump", "rash", "bruise", "bleeding"})
# Words that name nothing by themselves: a body-part reading that leaves any other word
# unread ("open sore on my shin that won't heal", "sore cracks at the corners of my mouth")
# may be missing what the text is about, and is not auto-coded on the rules alone.
FUNCTION_WORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "my", "his", "her", "their", "our", "your",
    "and", "with", "or", "for", "from", "by", "is", "was", "be", "are", "were", "it", "its",
    "i", "he", "she", "they", "we", "you", "me", "him", "them", "that", "this", "these",
    "those", "which", "who", "when", "where", "while", "after", "before", "since", "around",
    "round", "under", "over", "near", "behind", "inside", "both", "left", "right", "side",
    "sides", "one", "two", "up", "down", "out", "off", "back", "again", "still", "now", "then",
    "little", "bit", "lot", "more", "less", "very", "real", "pretty", "kind", "sort",
    "lower", "upper", "whole", "entire", "area", "part", "parts", "there", "here", "started",
    "starting", "start", "keeps", "keep", "been", "being", "am", "do", "does", "did", "dont",
    "doesnt", "didnt", "went", "go", "goes", "gone", "come", "came", "comes", "coming", "day",
    "days", "night", "nights", "week", "weeks", "morning", "evening", "hours", "time",
})
_NEAR = re.compile(r"\b(?:almost|nearly|near|close to|going to|gonna|about to|verge of)\b")
_PRONOUN_PLACE = frozenset({"it", "its", "this", "that", "there"})
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
    # A vaccination/injection site named: only these queries ("vaccination site pain") may
    # be auto-coded; the body-part reading of the same words ("limb pain") may not.
    site: tuple[str, ...] = ()
    # Readings a row marks as one of two conventions (``LayRules.alternatives``), each with
    # the other concepts it may be: offered beside it, never auto-coded.
    contested: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The text with its framing read away (``framing.read_away``: reporter, dose and drug
    # context, feelings), folded; empty when there was none. The semantic stage reads it as
    # the words as written.
    event: str = ""


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
    # A medical side written "a|b": the dictionary holds two concepts the lay words fit under
    # different coding conventions ("swollen ankles": Peripheral swelling, or Oedema
    # peripheral, which lay words cannot tell apart). Read as "a"; the coder offers both and
    # auto-codes neither: the physician chooses.
    # Keyed by the row ("phrase <lay>", "combo <part> <sensation>"): another row may read the
    # same medical side without doubt ("leg weak": the lower limb; "limb weak": which one?).
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> LayRules:
        phrases: dict[str, str] = {}
        fillers: set[str] = set()
        parts: dict[str, str] = {}
        sensations: dict[str, str] = {}
        combos: dict[tuple[str, str], str] = {}
        unable: list[str] = []
        negations: list[str] = []
        alternatives: dict[str, tuple[str, ...]] = {}
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                rule, lay, medical = row["rule"], fold(row["lay"]), row["medical"].strip().lower()
                if "|" in medical:
                    medical, *others = (m.strip() for m in medical.split("|"))
                    alternatives[f"{rule} {lay}"] = tuple(others)
                    if rule == "phrase":
                        alternatives[f"stem {stem_phrase(lay)}"] = tuple(others)
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
                   tuple(sorted(negations, key=len, reverse=True)), stemmed_phrases(phrases),
                   alternatives)

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
        rows: set[tuple[str, str]] = set()
        reading = self._read_rows(verbatim, rows)
        if used is not None:
            used.update(rows)
        contested = tuple((medical, others) for rule, lay in sorted(rows)
                          if (others := self.alternatives.get(f"{rule} {lay}"))
                          for medical in (self._medical_of(rule, lay),))
        contested = reading.contested + contested
        return replace(reading, contested=contested) if contested else reading

    def _medical_of(self, rule: str, lay: str) -> str:
        if rule == "phrase":
            return self.phrases.get(lay, "")
        if rule == "stem":
            return self.stemmed.get(lay, "")
        part, _, sensation = lay.partition(" ")
        return self.combos.get((part, sensation), "")

    def _read_rows(self, verbatim: str, used: set[tuple[str, str]] | None) -> LayReading:
        text = fold_keep_commas(expand_abbreviations(verbatim))  # commas part clauses (below)
        # A vaccination or injection named with where it went in ("arm sore where I had my
        # booster"): looked for in the text before the framing is read away (the framing
        # names the vaccine), less the time words, as before round 6 ("knees ache since the
        # jab" is not a site reaction).
        whole = " ".join(_TIME.sub(" ", text).split())
        # Round 6: who reports it, since which dose, what the reporter feels about it.
        framed = read_away(text)
        event = "" if framed == text else " ".join(framed.replace(",", " ").split())
        text = " ".join(_TIME.sub(" ", framed).split())
        if self.unable is not None:
            text = " ".join(self.unable.sub("cant", text).split())
        generalised = _ALL_OVER.search(text) is not None
        text = " ".join(_ALL_OVER.sub(" ", text).split())
        clauses = [c for c in _CLAUSE.split(text) if c.strip()] or [text]
        denied = [self._denied(c) for c in clauses]
        negated = False
        if all(d is not None for d in denied):
            # Every clause denies: the whole text denies ("no rash", "denies headache").
            negated, text = True, " ".join(d or "" for d in denied)
        elif any(d is not None for d in denied):
            # "chills but no fever", "no pain, my hands just won't stop shaking": the
            # clauses that deny are dropped, the others are the event.
            text = " ".join(c for c, d in zip(clauses, denied, strict=True) if d is None)
        text = " ".join(re.sub(r"[,;]", " ", text).split())
        # Two comma-separated parts that both say something (a denied one says nothing).
        commas = sum(1 for seg in re.split(r"[,;]", framed)
                     if any(self._denied(c) is None
                            for c in _CLAUSE.split(seg) if c.strip())) > 1
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
        spelled = [w.replace("_", " ") for w in mapped]
        placed = frozenset(w for i, w in enumerate(spelled)
                           if w in self.parts and self._placed(spelled, i))
        combo, named, feeling = self._combo(kept, used, placed)
        found.discard(feeling or "")
        # Words the body-part reading leaves unread: another sensation ("itchy red rash":
        # red, rash) is one of them, the same sensation in other words ("sore and achy") not.
        sensed = self.sensations.get(feeling or "")
        # "and"/"or" between two body parts ("hands and feet", "knees and hips") joins
        # places, not events (round 6).
        places = {i for i, w in enumerate(kept) if w in _JOINING and 0 < i < len(kept) - 1
                  and kept[i - 1].replace("_", " ") in self.parts
                  and kept[i + 1].replace("_", " ") in self.parts}
        unread = tuple(w for i, w in enumerate(kept) if w.replace("_", " ") not in self.parts
                       and i not in places
                       and self.sensations.get(w, "\0") != sensed) if combo else ()
        site = self._site(whole, kept, named)
        doubted: list[tuple[str, tuple[str, ...]]] = []
        if generalised:
            # "itchy all over", "red all over my body": the generalised term where the
            # dictionary has one (tried first; only dictionary keys are coded). Writers code
            # it either way (the first lay set: Urticaria; set B: Pruritus generalised), so
            # both are offered and neither is auto-coded.
            for q in (combo, " ".join(kept)):
                if q:
                    base = "oedema" if q.endswith("swelling") else q
                    queries += [f"{base} generalised", f"generalised {base}"]
                    doubted += [(f"{base} generalised", (q,)), (f"generalised {base}", (q,))]
        queries += site
        if combo:
            queries.append(combo)
        for q in (" ".join(kept), " ".join(mapped)):
            if q and q not in queries:
                queries.append(q)
        if combo:
            found.add(combo)
        # Two concepts named and joined ("rash and itching"), or a body-part reading beside a
        # different lay phrase ("sore arm at injection site"): a person splits or chooses.
        joined = bool(_JOINED.search(text)) or commas or combo is not None
        vague = not kept or any(w in _JOINING for i, w in enumerate(kept)
                                if not (combo and i in places)) or commas
        # "can't" before a concept the rules read ("can't nod off": not somnolence) denies
        # it or names its opposite: for a person.
        # "Almost fainted", "going to be sick": the event nearly happened, which is often a
        # concept of its own (presyncope, nausea) the similarity does not tell apart.
        # "it burns", "it itches", "this hurts": the place is a pronoun (round 6).
        vague = vague or (not named and bool(words) and words[0] in _PRONOUN_PLACE)
        vague = vague or _NEAR.search(text) is not None or any(
            a == "cant" and b in self._medical for a, b in pairwise(mapped))
        # A body-part reading joined to words it does not read ("panic attack with racing
        # heart"): the other words may be the event; two events for a person.
        multiple = (joined and len(found) > 1) or (
            combo is not None and any(w in _JOINING for w in unread))
        return LayReading(tuple(dict.fromkeys(queries)), negated, named, multiple, vague, combo,
                          unread, tuple(site), tuple(doubted), event)

    def _denied(self, clause: str) -> str | None:
        """What a clause denies ("no fever" -> "fever"), or None when it does not deny;
        "no appetite", "not hungry", "no energy" are events in themselves."""
        clause = clause.strip()
        for neg in self.negations:
            if clause.startswith(neg + " ") or clause == neg:
                if any(clause.startswith(p) for p in self.phrases if p.startswith(neg + " ")):
                    return None
                return clause[len(neg) + 1:]
        return None

    def _site(self, text: str, kept: list[str], named: tuple[str, ...]) -> list[str]:
        """The site-reaction readings of a text that names a vaccination or an injection
        and where it went in (a site word, or the limb/shoulder the dose goes in)."""
        vaccine = _VACCINE.search(text) is not None
        if not vaccine and _INJECTION.search(text) is None:
            return []
        if (_SITE_WORDS.search(text) is None and _JAB_PARTS.search(text) is None
                and (vaccine or _INJECTED_PARTS.search(text) is None)):
            return []
        site = "vaccination site" if vaccine else "injection site"
        feelings = [self.sensations[w] for w in kept if w in self.sensations]
        # What is there ("a hard lump") before how it feels: the thing names the reaction.
        feelings.sort(key=lambda f: f not in _SITE_THINGS)
        out: list[str] = []
        for feeling in feelings:
            if feeling == "swelling" and vaccine and _WHOLE_LIMB.search(text):
                out.append("extensive swelling of vaccinated limb")
            out += [f"{site} {term}" for term in SITE_TERMS.get(feeling, (feeling,))]
        return out

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
                    elif used is not None and f"stem {stem_phrase(chunk)}" in self.alternatives:
                        used.add(("stem", stem_phrase(chunk)))  # a doubted row in another form
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
               placed: frozenset[str] = frozenset(),
               ) -> tuple[str | None, tuple[str, ...], str | None]:
        """The body-part reading, the parts named, and the word that gave its sensation.

        The first sensation that makes a known pair with the part wins ("itching and lips
        swelled up": lips + swelling, not lips + itch, which names nothing)."""
        spelled = [w.replace("_", " ") for w in words]
        at = [i for i, w in enumerate(spelled) if w in self.parts]
        # A part after "in/on/under my ..." places the part named before it ("glands in my
        # neck"): the first part is what the sensation is about.
        heads = [i for i in at if spelled[i] not in placed] if len(at) > 1 else at
        parts = [self.parts[spelled[i]] for i in (heads or at)]
        named = tuple(dict.fromkeys(parts))
        feelings = [(w, self.sensations[w]) for w in words if w in self.sensations]
        if len(named) != 1 or not feelings:
            return None, named, None
        # A pair may name the lay word itself ("leg weak": lower limb) before its group.
        own = [stem(spelled[i]) for i in (heads or at)] + [spelled[i] for i in (heads or at)]
        for word, feeling in feelings:
            key = next(((w, feeling) for w in own if (w, feeling) in self.combos),
                       (named[0], feeling))
            medical = self.combos.get(key)
            if medical is not None:
                if used is not None:
                    used.add(("combo", " ".join(key)))
                return medical, named, word
        for word, feeling in feelings:
            if feeling == "pain":
                return f"{named[0]} pain", named, word
        return None, named, None

    @staticmethod
    def _placed(words: list[str], i: int) -> bool:
        """Whether the part at ``i`` follows a locative ("in my neck", "on the back of")."""
        j = i - 1
        while j >= 0 and words[j] in _DETERMINERS:
            j -= 1
        return j >= 0 and words[j] in _LOCATIVE


def fold_keep_commas(text: str) -> str:
    """:func:`fold`, keeping the commas and semicolons that separate clauses."""
    return ",".join(fold(part) for part in re.split(r"[,;]", text))


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

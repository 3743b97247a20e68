"""The framing a report wraps an event in, read away so that the event phrase is coded.

Hotline notes, emails and forum posts rarely give the event alone: "caller states her husband
has felt queasy every day since starting the new tablets", "pt c/o SOB x3/7", "mouth went numb
straight after the first dose, which is really annoying". Who reports it, since which dose or
drug, and how the reporter feels about it are context for the case, not the event: left in,
their words block a body-part reading ("a word it leaves unread"), dilute the similarity of a
long text and add commas that read as two events. This module removes them, by general
patterns (no drug list: a drug is recognised by where it stands, "since starting X", "after
the new X"), and expands the few note-taking abbreviations that have one meaning
(``c/o``, ``pt``, ``SOB``, ``N&V``, ``abd``/``abdo``, ``x3/7``, ``hrs``).

It never adds a word that names an event and never removes one the event phrase needs:
meals, posture and exertion ("after eating", "when I stand up") stay, because they are part of
some concepts (postprandial, postural). ``read_away`` works on folded text (lower case,
apostrophes dropped, punctuation to spaces, commas kept as clause marks).
"""

from __future__ import annotations

import re

# Abbreviations of case notes, applied to the text as written (case matters for SOB, which
# in lower case may be crying).
_ABBREVIATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bc\s*/\s*o\b", re.I), " complains of "),
    (re.compile(r"\bS\.?O\.?B\.?(?=\W|$)"), " shortness of breath "),
    (re.compile(r"\bSOBOE\b"), " shortness of breath on exertion "),
    (re.compile(r"\bHA\b"), " headache "),
    (re.compile(r"\bN\s*(?:&|\+|/)\s*V\b", re.I), " nausea and vomiting "),
    (re.compile(r"\babdo?\b\.?", re.I), " abdominal "),
    (re.compile(r"\bpts?\b\.?(?=\W|$)", re.I), " patient "),
    (re.compile(r"\bpt's\b", re.I), " patient's "),
    (re.compile(r"\bx\s?(\d+)\s*/\s*7\b", re.I), r" for \1 days "),
    (re.compile(r"\bx\s?(\d+)\s*/\s*52\b", re.I), r" for \1 weeks "),
    (re.compile(r"\bx\s?(\d+)\s*/\s*12\b", re.I), r" for \1 months "),
    (re.compile(r"\bx\s?(\d+)\s+(days?|weeks?|hours?|hrs?|months?)\b", re.I), r" for \1 \2 "),
    (re.compile(r"\b(\d+)\s*hrs?\b", re.I), r" \1 hours "),
    (re.compile(r"\b(\d+)\s*mins?\b", re.I), r" \1 minutes "),
    (re.compile(r"\b(\d+)\s*wks?\b", re.I), r" \1 weeks "),
    (re.compile(r"\s*&\s*"), " and "),  # after N&V
)

# Who reports, and the verbs of reporting ("caller states", "pt's mother reports",
# "mum says", "emailing to say", "patient complains of").
_PEOPLE = (r"patient|caller|customer|consumer|reporter|client|parent|mum|mom|mother|dad|father"
           r"|wife|husband|partner|son|daughter|kid|child|boy|girl|baby|toddler|carer|caregiver"
           r"|nurse|pharmacist|gp|doctor|sister|brother|friend|grandma|grandad|grandmother"
           r"|grandfather|nan|nana|grandson|granddaughter|boyfriend|girlfriend|neighbour")
_WHO = (rf"(?:(?:the|my|our|his|her|their) )?(?:{_PEOPLE})s?(?: (?:{_PEOPLE})s?)?")
_SAY = (r"(?:states?|stated|reports?|reported|reporting|says|said|describes|described"
        r"|complains? of|complained of|complaining of|notes|noted|noticed|mentions|mentioned"
        r"|advises|advised|explains|explained|concerned|worried|tells me|told me|told us"
        r"|(?:called|calling|rang|phoned|emailed|emailing|writing|wrote)"
        r"(?: (?:in )?(?:to|about) (?:say|report|tell you|let you know))?)")
_REPORTER = re.compile(
    rf"^(?:(?:hi|hello|hey) )?(?:(?:{_WHO} )?{_SAY}(?: that)?"
    rf"|(?:{_WHO} )?(?:called |calling |rang |phoned |emailed |emailing |writing )?"
    r"(?:re|regarding|about)"
    rf"|(?:as )?(?:per|according to) {_WHO}"
    r"|(?:i )?(?:just )?(?:wanted|want|would like|am|im)? ?(?:writing|emailing|calling|ringing|to)"
    r" (?:to )?(?:say|report|tell you|let you know)(?: that)?)(?: |$)")
# What a clinician or a test said it was ("GP said", "blood test showed I was", "diagnosed
# with", "admitted to hospital with", "told I have"): the event is what follows.
_CLINICIAN = (r"(?:gp|doctor|dr|doc|consultant|specialist|hospital|nurse|pharmacist|surgeon"
              r"|rheumatologist|dermatologist|cardiologist|neurologist|oncologist|a e|er|ae"
              r"|[a-z]+ologist)")
_TOLD = re.compile(
    rf"^(?:(?:the|my|his|her|their|our) )?(?:{_CLINICIAN}s? (?:said|says|thinks|think|told me"
    r"|told us|told him|told her|confirmed|diagnosed)"
    r"|(?:(?:blood|urine) )?(?:tests?|bloods|scans?|x ray|xray|ecg|mri|ct|ultrasound)"
    r" (?:showed|shows|show|came back|confirmed|found|revealed)"
    r"|(?:(?:i|he|she|they) )?(?:was |were |been |got |has been |have been |had been )?"
    r"(?:told|diagnosed with|admitted(?: to hospital| to a e| to icu)?(?: with)?"
    r"|hospitali[sz]ed(?: with)?|found out))"
    r"(?: that)?(?: (?:i|he|she|they) (?:have|has|had|was|were|ve got|s got|is|am))?"
    r"(?: (?:a|an|got))?(?: |$)")
# Where it led, after the event ("now in hospital", "ended up in a e"): seriousness, a case
# field of its own.
_OUTCOME = re.compile(r"\b(?:(?:and )?(?:now |ended up |had to go )?(?:in|to) (?:hospital|a e"
                      r"|icu|intensive care)|now in hospital)\b")
# The person it happened to, at the start of a clause ("my son", "her husband has been",
# "dads", "she s been"): not the event.
_SUBJECT = re.compile(
    rf"^(?:{_WHO}|he|she|they|hes|shes|theyve|theyre)"
    r"(?: (?:has|have|had|is|was|s|ve|d))?(?: been)?"
    r"(?: (?:complaining of|suffering from|suffering with|experiencing|having))?(?: |$)")
# Verbs that only frame ("suffering from", "experiencing"), anywhere.
_EXPERIENCE = re.compile(r"\b(?:complains? of|complaining of|complained of|suffering from"
                         r"|suffering with|experiencing|experienced|developed|develops"
                         r"|presented with|presenting with|onset(?: of)?)\b")
# How long it lasted, and how it ended ("for 3 days", "resolved after 2 hours"): the course,
# not the event.
_FOR = re.compile(r"\bfor (?:the (?:last|past) )?(?:a|an|one|two|three|four|five|six|seven|ten"
                  r"|few|several|couple of|\d+) (?:minutes?|hours?|days?|weeks?|months?)"
                  r"(?: now)?\b")
_COURSE = re.compile(r"\b(?:(?:which|that|it|symptoms?|and) )?(?:has |have |had )?"
                     r"(?:resolved|settled|subsided|went away|wore off|cleared up)\b[^,]*")

# What a dose, a product or a treatment is called ("the new tablets", "my second jab",
# "the 3rd cycle"); "the pill" is not here (contraception: "pregnant while on the pill").
_DOSE_NOUN = (r"(?:doses?|tablets?|pills|capsules?|caps|jabs?|shots?|vaccines?|vaccinations?"
         r"|boosters?|injections?|infusions?|drips?|chemo|chemotherapy|treatments?|medicines?"
         r"|medications?|meds|drugs?|syrup|liquid|drops|cream|gel|ointment|patch|patches|spray"
         r"|inhaler|prescription|antibiotics?|painkillers?|steroids?|cycles?|course|sachets?"
         r"|lozenges?|pens?|tabs|suppositor(?:y|ies)|antidepressants?|statins?|administration)")
# A pronoun for the dose ("after taking it") stands right after the verb, never words later
# ("fell into a deep depression on this med" is not "into ... this").
_DOSE = rf"(?:{_DOSE_NOUN}|it|them|these|this)"
_ORDINAL = (r"(?:first|second|third|fourth|fifth|last|latest|next|new|1st|2nd|3rd|\d+th"
            r"|higher|increased|same)")
_AMOUNT = (r"(?:(?:about|around|roughly|within|only|straight|right|soon|shortly|immediately"
           r"|just|a|an|one|two|three|four|five|six|few|couple|of|\d+|the|same|next|day|days"
           r"|hours?|minutes?|weeks?|months?|night|morning) )*")
# "2 hours after the 1st dose", "the day after my first infusion", "straight after taking
# it": the dose named within a few words after "after"/"following"/"within".
_AFTER = re.compile(
    rf"\b{_AMOUNT}(?:after|following|within|post)"
    rf"(?: (?:taking|starting|having|getting|using|swallowing|i|she|he|they|took|had|got"
    rf"|started|my|his|her|their|the|a|an|each|every|this|that|these|{_ORDINAL}))*"
    rf"(?:(?: [a-z0-9]+){{0,3}}? {_DOSE_NOUN}| (?:it|them|these|this))"
    r"(?: (?:of|for) (?:the )?[a-z]+)?"
    r"(?: (?:was|were|went|got)? ?(?:started|increased|changed|upped|doubled|up))?\b"
    r"(?! (?:site|spot|area|where|went|go|goes))")
# "after starting lamotrigine", "since switching to sertraline": a drug by its name, at the
# end of the clause (a name is any word there).
_STARTING = re.compile(r"\b(?:straight |right |soon |shortly |just )?(?:after|following|since)"
                       r" (?:starting|taking|using|switching to|going on|stopping|beginning)"
                       r"(?: (?:the|my|his|her|their|new))* [a-z0-9]+$")
# "3 weeks into treatment".
_INTO = re.compile(rf"\b(?:\d+|a|one|two|three|four|five|six|few) (?:days?|weeks?|months?)"
                   rf" into (?:the |my |his |her |their )?(?:[a-z]+ )?{_DOSE_NOUN}\b")
# "on the new tablets", "from the drug", "since the codeine" are drug context too.
_ON_DRUG = re.compile(rf"\b(?:on|from|with) (?:the|these|those|my|his|her|this) "
                      rf"(?:{_ORDINAL} )?(?:[a-z]+ )?{_DOSE_NOUN}\b(?! (?:site|spot|area|where))")
# Words a "since ..." phrase ends before: who the clause is about, or the event's own verbs.
_SINCE_STOPS = frozenset({
    "i", "im", "ive", "id", "he", "hes", "she", "shes", "they", "theyve", "theyre", "we",
    "my", "his", "her", "their", "our", "its", "and", "but", "which", "now", "been", "have",
    "has", "had", "keep", "keeps", "feel", "feeling", "felt", "is", "are", "am", "got",
})
_SINCE_DOSE = re.compile(
    r"(?:(?:starting|taking|using|having|getting|switching|finishing|stopping|going on"
    r"|increasing|reducing|changing|upping|doubling|lowering"
    r"|(?:i|she|he|they|we) (?:started|took|had|got|began|switched)(?: on)?) )?"
    rf"(?:(?:my|his|her|their|our|the|this|these|that|those) )?(?:{_ORDINAL} )*(?:[a-z]+ )?"
    rf"{_DOSE}(?: (?:was|were|went|got) (?:started|increased|changed|upped|doubled|up)"
    r"| (?:started|began|went up|came in|changed|increased|reduced|decreased|lowered))?"
    r"(?: (?:to|from) \d+ ?(?:mg|mcg|g|ml|units?|iu)?)?\b")
_STARTERS = frozenset({"i", "she", "he", "they", "we", "you"})
_START_VERBS = frozenset({"started", "start", "began", "begun", "got", "went", "had", "took",
                          "switched", "changed", "finished", "stopped", "came", "have", "was",
                          "upped", "increased", "raised", "doubled", "put", "gave"})
# How the reporter feels about it, or a question about it: never the event.
_FEELING = re.compile(
    r"\b(?:(?:which|that|and|it|its|this) )?(?:(?:is|s|was) )?(?:really |so |very |quite )?"
    r"(?:annoying|embarrassing|frustrating|upsetting|distressing|driving me (?:mad|crazy|nuts"
    r"|insane|up the wall))\b"
    r"|\b(?:is|could) (?:that|this|it) (?:be )?(?:normal|the [a-z]+|a side effect|related"
    r"|from the [a-z]+)\b[^,]*"
    r"|\bnot sure (?:if|whether)\b[^,]*"
    r"|\bnever (?:had|happened)(?: (?:this|that|it|anything like (?:this|that)))?"
    r"(?: before)?\b"
    r"|\bfirst (?:one|time) ever\b")
# A clause left with nothing but these says nothing ("noticed it", "it started then").
_EMPTY = frozenset({"noticed", "it", "this", "that", "started", "then", "now", "so", "far",
                    "and", "but", "which", "is", "was", "the", "a", "i", "too", "also", "again",
                    "on", "off", "thanks", "thank", "you", "please", "help", "advice", "ok",
                    "hi", "hello", "hey", "dear", "patient", "caller", "per"})


def expand_abbreviations(text: str) -> str:
    """The note-taking abbreviations with one meaning, written out (on text as written)."""
    for pattern, replacement in _ABBREVIATIONS:
        text = pattern.sub(replacement, text)
    return text


def _drop_since(words: list[str]) -> list[str]:
    """"since starting the new tablets", "ever since my second jab", "since the blood thinners
    were started": removed up to the clause's subject ("since the jab my arm ...")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] != "since" or i + 1 == len(words):
            out.append(words[i])
            i += 1
            continue
        if out and out[-1] == "ever":
            out.pop()
        j = i + 1
        dose = _SINCE_DOSE.match(" ".join(words[j:]))
        if dose:
            # "since my second jab", "since starting the new tablets": the dose named, and
            # the event may follow it ("since the new tablets nausea").
            i = j + len(dose.group(0).split())
            continue
        if words[j] in _STARTERS and j + 1 < len(words) and words[j + 1] in _START_VERBS:
            j += 2
            dose = _SINCE_DOSE.match(" ".join(words[j:]))
            if dose:  # "since they upped her dose"
                i = j + len(dose.group(0).split())
                continue
        while j < len(words) and words[j] not in _SINCE_STOPS:
            j += 1
        if j < len(words) and words[j] in ("was", "were") and j + 1 < len(words):
            j += 2
        i = j
    return out


def read_away(folded: str) -> str:
    """The event phrase of a folded text (commas kept), its framing removed."""
    clauses = []
    for clause in folded.split(","):
        c = " ".join(clause.split())
        for _ in range(2):  # "caller says her husband has ..."
            c = _REPORTER.sub("", c).strip()
            c = _SUBJECT.sub("", c).strip()
            c = _TOLD.sub("", c).strip()
        c = _OUTCOME.sub(" ", c)
        c = _STARTING.sub(" ", c)
        c = _EXPERIENCE.sub(" ", c)
        c = _FOR.sub(" ", c)
        c = _COURSE.sub(" ", c)
        c = _FEELING.sub(" ", c)
        c = _AFTER.sub(" ", c)
        c = _INTO.sub(" ", c)
        c = _ON_DRUG.sub(" ", c)
        c = " ".join(_drop_since(c.split()))
        if c and not all(w in _EMPTY for w in c.split()):
            clauses.append(c)
    return ",".join(clauses)

"""A seeded generator of labelled report streams for calibrating and evaluating deduplication.

Every report is rendered from a *true case* (one patient, one event episode) through a channel
(study site form, partner E2B, regulator forward, physician, consumer call, literature) that
adds the noise real channels add: initials in another order or with a middle initial, an age
instead of a birth date, shifted or partial dates, brand instead of generic names, misspelled
or uncoded verbatims, LLT instead of PT coding, reworded narratives quoting dates in various
formats. The labels say which true case, which patient and which sender's case (lineage) each
report belongs to, so pairs can be labelled duplicate / other patient / new event.

Hard look-alikes are generated on purpose: a second, different event in the same trial subject;
twins; several patients of one literature series; many subjects of one study with the same
common event; senders that reuse the same simple case numbering.

The vocabularies below are invented for the generator (codes are not MedDRA or UNII codes).
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from safety.cases.model import (
    Admin,
    CaseVersionData,
    CodedTerm,
    Document,
    Dosage,
    Drug,
    Narrative,
    OtherCaseId,
    Patient,
    Quantity,
    Reaction,
    Reporter,
    Sender,
    Study,
    StudyRegistration,
)
from safety.cases.values import PartialDate

SUBSTANCES: list[tuple[str, str, list[str]]] = [
    ("SUB001", "paracetamol", ["Panadol", "Doliprane", "Tylenol"]),
    ("SUB002", "atorvastatin", ["Lipitor", "Tahor"]),
    ("SUB003", "metformin", ["Glucophage", "Stagid"]),
    ("SUB004", "amoxicillin", ["Amoxil", "Clamoxyl"]),
    ("SUB005", "ibuprofen", ["Advil", "Nurofen"]),
    ("SUB006", "warfarin", ["Coumadin", "Marevan"]),
    ("SUB007", "omeprazole", ["Prilosec", "Mopral"]),
    ("SUB008", "sertraline", ["Zoloft", "Lustral"]),
    ("SUB009", "pembrolizumab", ["Keytruda"]),
    ("SUB010", "nivolumab", ["Opdivo"]),
    ("SUB011", "adalimumab", ["Humira", "Hyrimoz"]),
    ("SUB012", "rivaroxaban", ["Xarelto"]),
    ("SUB013", "apixaban", ["Eliquis"]),
    ("SUB014", "levothyroxine", ["Levothyrox", "Synthroid"]),
    ("SUB015", "amlodipine", ["Norvasc", "Amlor"]),
    ("SUB016", "clopidogrel", ["Plavix"]),
    ("SUB017", "semaglutide", ["Ozempic", "Wegovy"]),
    ("SUB018", "insulin glargine", ["Lantus", "Toujeo"]),
    ("SUB019", "methotrexate", ["Metoject", "Trexall"]),
    ("SUB020", "vancomycin", ["Vancocin"]),
]
# (PT code, PT term, [(LLT code, LLT term)], consumer wording, frequency weight)
EVENTS: list[tuple[str, str, list[tuple[str, str]], str, float]] = [
    ("PT001", "Nausea", [("LLT0011", "Feeling sick"), ("LLT0012", "Queasy")], "felt sick", 10),
    ("PT002", "Headache", [("LLT0021", "Cephalgia"), ("LLT0022", "Head pain")], "bad headache", 9),
    ("PT003", "Rash", [("LLT0031", "Skin rash"), ("LLT0032", "Eruption")], "red spots", 8),
    (
        "PT004",
        "Diarrhoea",
        [("LLT0041", "Diarrhea"), ("LLT0042", "Loose stools")],
        "runny tummy",
        8,
    ),
    ("PT005", "Fatigue", [("LLT0051", "Tiredness"), ("LLT0052", "Exhaustion")], "always tired", 7),
    (
        "PT006",
        "Dizziness",
        [("LLT0061", "Giddiness"), ("LLT0062", "Light-headedness")],
        "head spinning",
        7,
    ),
    ("PT007", "Vomiting", [("LLT0071", "Emesis"), ("LLT0072", "Throwing up")], "threw up", 6),
    ("PT008", "Pruritus", [("LLT0081", "Itching"), ("LLT0082", "Itchy skin")], "itchy", 5),
    (
        "PT009",
        "Hepatotoxicity",
        [("LLT0091", "Liver toxicity"), ("LLT0092", "Drug-induced liver injury")],
        "liver problem",
        3,
    ),
    (
        "PT010",
        "Anaphylactic reaction",
        [("LLT0101", "Anaphylaxis"), ("LLT0102", "Anaphylactic shock")],
        "severe allergy",
        2,
    ),
    (
        "PT011",
        "Pneumonitis",
        [("LLT0111", "Interstitial pneumonitis"), ("LLT0112", "Lung inflammation")],
        "lung inflammation",
        2,
    ),
    (
        "PT012",
        "Gastrointestinal haemorrhage",
        [("LLT0121", "GI bleeding"), ("LLT0122", "Gastrointestinal bleeding")],
        "bleeding from the gut",
        2,
    ),
    (
        "PT013",
        "Acute kidney injury",
        [("LLT0131", "Acute renal failure"), ("LLT0132", "AKI")],
        "kidney failure",
        2,
    ),
    (
        "PT014",
        "Stevens-Johnson syndrome",
        [("LLT0141", "SJS"), ("LLT0142", "Stevens Johnson syndrome")],
        "skin peeling",
        1,
    ),
    (
        "PT015",
        "Hypoglycaemia",
        [("LLT0151", "Hypoglycemia"), ("LLT0152", "Low blood sugar")],
        "low sugar",
        3,
    ),
    (
        "PT016",
        "Myalgia",
        [("LLT0161", "Muscle pain"), ("LLT0162", "Muscle ache")],
        "aching muscles",
        4,
    ),
    (
        "PT017",
        "Pancreatitis",
        [("LLT0171", "Acute pancreatitis"), ("LLT0172", "Inflamed pancreas")],
        "pancreas inflammation",
        1,
    ),
    (
        "PT018",
        "Colitis",
        [("LLT0181", "Immune-mediated colitis"), ("LLT0182", "Bowel inflammation")],
        "bowel inflammation",
        2,
    ),
    (
        "PT019",
        "Neonatal jaundice",
        [("LLT0191", "Jaundice neonatal"), ("LLT0192", "Newborn jaundice")],
        "baby turned yellow",
        0,
    ),
    (
        "PT020",
        "Respiratory distress",
        [("LLT0201", "Breathing difficulty"), ("LLT0202", "Respiratory distress syndrome")],
        "trouble breathing",
        0,
    ),
    (
        "PT021",
        "Thrombocytopenia",
        [("LLT0211", "Low platelets"), ("LLT0212", "Platelet count decreased")],
        "low platelets",
        2,
    ),
    (
        "PT022",
        "Angioedema",
        [("LLT0221", "Swelling face"), ("LLT0222", "Angioneurotic oedema")],
        "swollen face",
        2,
    ),
]
COUNTRIES = [
    ("FR", 14),
    ("DE", 14),
    ("GB", 12),
    ("US", 18),
    ("ES", 8),
    ("IT", 9),
    ("NL", 5),
    ("BE", 4),
    ("SE", 3),
    ("PL", 5),
    ("JP", 5),
    ("CA", 3),
]
GIVEN = (
    "Anna Marie Jean Paul Luc Sofia Emma Hugo Lena Noah Mia Omar Ines Tom Eva Karl Nina "
    "Ivan Rosa Ben Clara David Elif Felix Greta Hana Igor Julia Kenji Laura Marc Nora "
    "Oscar Petra Quentin Rita Sven Tara Ugo Vera Walter Yara Zoe"
).split()
FAMILY = (
    "Martin Bernard Dubois Muller Schmidt Smith Jones Garcia Rossi Bianchi Jansen "
    "Peeters Nilsson Kowalski Tanaka Brown Taylor Wilson Moreau Laurent Fischer Weber "
    "Lopez Romano Visser Andersson Nowak Sato Davies Evans Thomas Roux Fontaine Becker "
    "Wagner Sanchez Ricci Bakker Larsson Wojcik Suzuki Walker White Harris"
).split()
COMPANY_SENDERS = ["Acme Pharma", "Borealis Therapeutics", "Cygnus Bio"]
SIMPLE_NUMBERING = ["Delta Health", "Orion Clinic Network"]  # reuse "YYYY-NNNN" ids
REGULATORS = {"FR": "ANSM", "DE": "BfArM", "GB": "MHRA", "US": "FDA"}
JOURNALS = [
    "Drug Saf",
    "Br J Clin Pharmacol",
    "Eur J Clin Pharmacol",
    "Pharmacoepidemiol Drug Saf",
    "J Clin Oncol",
    "Lancet",
]
OWN_SENDER = "SafetyDesk intake"
FAXED_SHARE = 0.08  # forms that also arrive as a faxed copy through a second route
# Characters OCR and hurried keying confuse on a faxed form (this generator's own model).
OCR_CONFUSIONS = {"0": "O", "O": "0", "1": "l", "l": "1", "5": "S", "S": "5", "8": "B",
                  "B": "8", "m": "rn", "e": "c", "c": "e", "i": "l", "n": "h", "a": "o",
                  "3": "8", "6": "b", "7": "1", "u": "v"}


@dataclass
class TruePatient:
    pid: str
    given: str
    middle: str | None
    family: str
    birth: date
    sex: str
    weight: float
    country: str
    record: str | None = None


@dataclass
class TrueCase:
    cid: str
    patient: TruePatient
    onset: date
    events: list[int]
    drugs: list[int]
    drug_start: date
    extra_dates: list[date]
    reporter: tuple[str, str, str]  # given, family, qualification
    study: tuple[str, str, str] | None = None  # study number, subject id, investigator site
    literature: str | None = None
    tag: str = "plain"


@dataclass
class LabelledReport:
    """One report of the stream with its truth."""

    report_id: str
    case: CaseVersionData
    true_case: str
    patient: str
    lineage: str
    kind: str  # initial, followup
    tag: str
    expected_link: str | None = None  # report id of the lineage's first report (follow-ups)
    expected_duplicate_of: str | None = None  # cited lineage's first report (id-cited duplicates)
    received: date = field(default_factory=lambda: date(2024, 1, 1))


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    op = rng.random()
    if op < 0.35:
        return text[:i] + text[i + 1 :]
    if op < 0.7:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1 :]


def _ocr(rng: random.Random, text: str, rate: float = 0.05) -> str:
    """``text`` as a faxed copy's OCR or keying may read it."""
    return "".join(OCR_CONFUSIONS[ch] if ch in OCR_CONFUSIONS and rng.random() < rate else ch
                   for ch in text)


def _ocr_case(rng: random.Random, case: CaseVersionData) -> None:
    """Misread a faxed form's text fields; the reader codes what it read, or leaves it."""
    p = case.patient
    if isinstance(p.initials, str) and rng.random() < 0.3:
        p.initials = _ocr(rng, p.initials, 0.3)
    if isinstance(p.investigation_number, str):
        p.investigation_number = _ocr(rng, p.investigation_number, 0.1)
    for r in case.reactions:
        if isinstance(r.verbatim, str):
            r.verbatim = _ocr(rng, r.verbatim)
            if r.coding is not None and rng.random() < 0.4:
                r.coding = None
    for d in case.drugs:
        if isinstance(d.name, str):
            d.name = _ocr(rng, d.name)
            if d.coding is not None and rng.random() < 0.4:
                d.coding = None
    for rep in case.reporters:
        if isinstance(rep.family_name, str):
            rep.family_name = _ocr(rng, rep.family_name)
    if isinstance(case.narrative.narrative, str):
        case.narrative.narrative = _ocr(rng, case.narrative.narrative, 0.03)


def _fmt_date(rng: random.Random, d: date) -> str:
    style = rng.randrange(4)
    if style == 0:
        return d.isoformat()
    if style == 1:
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if style == 2:
        return f"{d.day} {d.strftime('%B')} {d.year}"
    return f"{d.strftime('%B')} {d.day}, {d.year}"


class StreamGenerator:
    """Builds true cases and renders them into a labelled, time-ordered report stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self._n = 0
        self._sender_counters: dict[str, int] = {}
        self.reports: list[LabelledReport] = []
        # first reports from a physician or a site, for the faxed copies drawn afterwards
        self._forms: list[tuple[TrueCase, str, date]] = []
        self.studies = [
            (f"STUDY-{seed % 97:02d}{i:02d}", f"NCT0{seed % 9}{i:06d}") for i in range(1, 9)
        ]

    # --- truth -----------------------------------------------------------------------------
    def _uid(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self.seed}-{self._n}"

    def _patient(
        self,
        *,
        birth: date | None = None,
        family: str | None = None,
        country: str | None = None,
        infant: bool = False,
    ) -> TruePatient:
        rng = self.rng
        if birth is None:
            birth = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 75))
        weight = round(rng.uniform(2.3, 3.6), 2) if infant else round(rng.gauss(74, 15), 1)
        return TruePatient(
            pid=self._uid("P"),
            given=rng.choice(GIVEN),
            middle=rng.choice(GIVEN) if rng.random() < 0.25 else None,
            family=family or rng.choice(FAMILY),
            birth=birth,
            sex=rng.choice("12"),
            weight=max(weight, 1.5),
            country=country or _pick(rng, COUNTRIES),
            record=f"H{rng.randrange(10**6, 10**7)}" if rng.random() < 0.2 else None,
        )

    def _events(self, k: int | None = None) -> list[int]:
        rng = self.rng
        k = k or rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
        idx = list(range(len(EVENTS)))
        weights = [e[4] for e in EVENTS]
        out: list[int] = []
        while len(out) < k:
            e = rng.choices(idx, weights=weights)[0]
            if e not in out:
                out.append(e)
        return out

    def _case(
        self,
        patient: TruePatient,
        *,
        onset: date | None = None,
        events: list[int] | None = None,
        drugs: list[int] | None = None,
        reporter: tuple[str, str, str] | None = None,
        study: tuple[str, str, str] | None = None,
        literature: str | None = None,
        tag: str = "plain",
    ) -> TrueCase:
        rng = self.rng
        onset = onset or date(2022, 1, 1) + timedelta(days=rng.randrange(0, 365 * 3))
        drugs = drugs or rng.sample(range(len(SUBSTANCES)), rng.choice([1, 1, 1, 2]))
        start = onset - timedelta(days=rng.randrange(1, 120))
        extra = [onset + timedelta(days=rng.randrange(1, 20)) for _ in range(rng.randrange(0, 3))]
        reporter = reporter or (rng.choice(GIVEN), rng.choice(FAMILY), rng.choice("1123"))
        return TrueCase(
            self._uid("C"),
            patient,
            onset,
            events or self._events(),
            drugs,
            start,
            extra,
            reporter,
            study,
            literature,
            tag,
        )

    def _entity_id(self) -> str:
        """Reaction and drug ids drawn from the seeded generator, so streams are reproducible."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _next_id(self, sender: str, country: str, year: int) -> str:
        n = self._sender_counters.get(sender, 0) + 1
        self._sender_counters[sender] = n
        # Streams of different seeds stand for different periods of one database: a sender
        # never reuses its own case numbers across them.
        n += self.seed * 100_000
        if sender in SIMPLE_NUMBERING:
            return f"{year}-{n:04d}"
        prefix = "".join(w[0] for w in sender.split()).upper()
        return f"{country}-{prefix}-{year}-{n:06d}"

    # --- rendering -------------------------------------------------------------------------
    def _initials(self, p: TruePatient, channel: str, report_id: str = "") -> str | None:
        rng = self.rng
        if channel == "literature" and rng.random() < 0.7:
            return None
        if channel == "consumer" and rng.random() < 0.5:
            return None
        letters = [p.given[0]] + ([p.middle[0]] if p.middle and rng.random() < 0.6 else [])
        letters.append(p.family[0])
        if rng.random() < 0.2:
            letters = [letters[-1], *letters[:-1]]  # family name first
        style = rng.randrange(3)
        # Masked or one-letter initials: EU partners forward E2B with the patient masked
        # (GDPR; "PRIVACY", MSK), consumers and forms give the first name's letter only. Drawn
        # from a generator of its own so the rest of the stream stays as it was.
        extra = random.Random(f"{self.seed}|{report_id}|initials")
        if channel in ("partner", "regulator") and extra.random() < 0.15:
            return extra.choice(["PRIVACY", "UNK", "MSK", "MASKED", "ASKU"])
        if channel in ("consumer", "physician", "site") and extra.random() < 0.12:
            return p.given[0] if extra.random() < 0.7 else p.given[0] + "."
        if style == 0:
            return "".join(letters)
        if style == 1:
            return ".".join(letters) + "."
        return " ".join(letters).lower()

    def render(
        self,
        tc: TrueCase,
        channel: str,
        sender: str,
        report_id: str,
        *,
        detail: float = 1.0,
        worldwide: str | None = None,
        cites: list[OtherCaseId] | None = None,
        follow_up: int = 0,
    ) -> CaseVersionData:
        """One report of ``tc`` as ``channel`` would send it; ``detail`` < 1 drops facts."""
        rng = self.rng
        p = tc.patient
        lay = channel == "consumer"

        def keep(prob: float) -> bool:
            return rng.random() < prob * detail

        patient = Patient(initials=self._initials(p, channel, report_id),
                          sex=p.sex if keep(0.97) else None)
        age = (tc.onset - p.birth).days / 365.25
        # Noise added for issue 21, drawn from a generator of its own so the rest of the stream
        # (every earlier noise decision) stays as it was.
        noise = random.Random(f"{self.seed}|{report_id}|noise")
        r = rng.random()
        if channel == "literature":
            birth_mode = "age"
        elif lay:
            birth_mode = "age" if r < 0.6 else "year" if r < 0.75 else "none"
        else:
            birth_mode = "full" if r < 0.6 else "age" if r < 0.8 else "month" if r < 0.9 else "none"
        if birth_mode == "full" and noise.random() < 0.1:
            birth_mode = "year"  # data minimisation: the year of birth only
        if birth_mode == "full":
            b = p.birth
            if rng.random() < 0.03:
                b = b + timedelta(days=rng.choice([-1, 1]))
            patient.birth_date = PartialDate.from_date(b)
        elif birth_mode == "month":
            patient.birth_date = PartialDate(p.birth.year, p.birth.month)
        elif birth_mode == "year":
            patient.birth_date = PartialDate(p.birth.year)
        elif birth_mode == "age":
            if age < 2:
                patient.age_at_onset = Quantity(float(max(int(age * 12), 0)), "mo")
                if age * 365 < 60:
                    patient.age_at_onset = Quantity(float(max(int(age * 365.25), 0)), "d")
            else:
                patient.age_at_onset = Quantity(float(int(age)), "a")
        if keep(0.55):
            patient.weight_kg = round(
                p.weight * (1 + (rng.uniform(-0.015, 0.015) if rng.random() < 0.3 else 0)), 1
            )
        if p.record and channel in ("site", "physician") and keep(0.6):
            patient.hospital_record_number = p.record
        study = None
        if tc.study is not None and channel in ("site", "partner", "regulator"):
            number, subject, _ = tc.study
            subj = subject if rng.random() < 0.7 else subject.replace("-", "")
            # Partners and regulators often carry the subject number without the site prefix.
            if channel != "site" and noise.random() < 0.3:
                subj = subject.rsplit("-", 1)[-1]
            patient.investigation_number = subj
            study = Study(
                sponsor_study_number=number,
                study_type="1",
                registrations=[StudyRegistration(number=number)],
            )

        onset: PartialDate | None = PartialDate.from_date(tc.onset)
        r = rng.random()
        if r < 0.12:
            onset = PartialDate.from_date(
                tc.onset + timedelta(days=rng.choice([-3, -2, -1, 1, 2, 3]))
            )
        elif r < 0.27 or (lay and r < 0.5):
            onset = PartialDate(tc.onset.year, tc.onset.month)
        elif r < 0.31:
            onset = PartialDate(tc.onset.year)
        elif r < 0.35 * (2 - detail):
            onset = None
        if channel == "literature" and rng.random() < 0.5:
            onset = PartialDate(tc.onset.year) if rng.random() < 0.5 else None
        # A d/m date read as m/d by another sender (FDA and UMC list date transcription
        # among the ways one case's reports come to differ).
        if (onset is not None and onset.is_full_date and channel != "site"
                and onset.day is not None and onset.month is not None
                and onset.day <= 12 and onset.day != onset.month and noise.random() < 0.06):
            onset = PartialDate(onset.year, onset.day, onset.month)

        events = list(tc.events)
        if len(events) > 1 and rng.random() < 0.15 and follow_up == 0:
            events = events[:-1]
        reactions = []
        for i, e in enumerate(events):
            pt_code, pt_term, llts, lay_word, _ = EVENTS[e]
            if lay:
                verbatim = lay_word
            else:
                verbatim = rng.choice([pt_term, *(t for _, t in llts)])
            if rng.random() < 0.12:
                verbatim = _typo(rng, verbatim)
            coding = None
            if rng.random() < 0.85:
                llt_code, llt_term = rng.choice(llts)
                if rng.random() < 0.3:
                    coding = CodedTerm(
                        verbatim=verbatim,
                        code=pt_code,
                        term=pt_term,
                        level="PT",
                        family="MedDRA",
                        pt_code=pt_code,
                        pt_term=pt_term,
                    )
                else:
                    coding = CodedTerm(
                        verbatim=verbatim,
                        code=llt_code,
                        term=llt_term,
                        level="LLT",
                        family="MedDRA",
                        pt_code=pt_code,
                        pt_term=pt_term,
                    )
            reactions.append(
                Reaction(
                    id=self._entity_id(),
                    verbatim=verbatim,
                    coding=coding,
                    start=onset
                    if i == 0
                    else (
                        PartialDate.from_date(tc.onset + timedelta(days=rng.randrange(0, 4)))
                        if onset is not None and onset.is_full_date and rng.random() < 0.5
                        else onset
                    ),
                    country=p.country if keep(0.8) else None,
                    outcome=rng.choice("0123") if follow_up else None,
                )
            )

        drugs = []
        for k in tc.drugs:
            code, generic, brands = SUBSTANCES[k]
            name = rng.choice(brands) if rng.random() < (0.7 if lay else 0.4) else generic
            if rng.random() < 0.08:
                name = _typo(rng, name)
            coding = None
            if rng.random() < 0.85:
                coding = CodedTerm(
                    verbatim=name,
                    code=code,
                    term=generic,
                    level="substance",
                    family="SafetyDesk-open",
                )
            dosage = Dosage(start=PartialDate.from_date(tc.drug_start)) if keep(0.4) else None
            drugs.append(
                Drug(
                    id=self._entity_id(),
                    role="1",
                    name=name,
                    coding=coding,
                    dosages=[dosage] if dosage else [],
                )
            )
        if rng.random() < 0.3:
            k = rng.randrange(len(SUBSTANCES))
            if k not in tc.drugs:
                drugs.append(Drug(id=self._entity_id(), role="2", name=SUBSTANCES[k][1]))

        reporters: list[Reporter] = []
        given, family, qual = tc.reporter
        if channel == "consumer":
            reporters.append(
                Reporter(
                    qualification="5",
                    country=p.country,
                    family_name=p.family if rng.random() < 0.3 else None,
                )
            )
        elif channel == "literature":
            author = tc.literature.split()[0] if tc.literature else None
            reporters.append(Reporter(family_name=author, qualification="1", country=p.country))
        else:
            g = given if rng.random() < 0.6 else given[0] + "."
            reporters.append(
                Reporter(
                    given_name=g,
                    family_name=family if rng.random() > 0.05 else _typo(rng, family),
                    qualification=qual,
                    country=p.country,
                    primary_for_regulatory=True,
                )
            )

        literature = (
            [Document(reference=self._cite(tc.literature))]
            if (tc.literature and channel == "literature")
            else []
        )
        narrative = self._narrative(tc, lay, detail)
        admin = Admin(
            sender_safety_report_id=report_id,
            report_type="2" if study else "1",
            worldwide_case_id=worldwide,
            other_case_ids=cites or [],
        )
        return CaseVersionData(
            admin=admin,
            reporters=reporters,
            sender=Sender(organisation=sender),
            literature=literature,
            study=study,
            patient=patient,
            reactions=reactions,
            drugs=drugs,
            narrative=Narrative(narrative=narrative),
        )

    def _cite(self, ref: str | None) -> str | None:
        if ref is None:
            return None
        rng = self.rng
        if rng.random() < 0.3:
            head, _, rest = ref.partition(". ")
            authors = head.split(", ")
            return ", ".join(authors[:1]) + ", et al. " + rest
        if rng.random() < 0.3:
            return ref.replace(". ", ".  ").replace(";", "; ")
        return ref

    def _narrative(self, tc: TrueCase, lay: bool, detail: float) -> str:
        rng = self.rng
        e = EVENTS[tc.events[0]]
        drug = SUBSTANCES[tc.drugs[0]]
        subject = "I" if lay else rng.choice(["The patient", "This patient", "A patient"])
        drug_name = rng.choice([drug[1], *drug[2]])
        event = e[3] if lay else rng.choice([e[1], *(t for _, t in e[2])]).lower()
        parts = []
        if rng.random() < 0.7 * detail:
            parts.append(
                rng.choice(
                    [
                        f"{subject} started {drug_name} on {_fmt_date(rng, tc.drug_start)}.",
                        f"Treatment with {drug_name} began {_fmt_date(rng, tc.drug_start)}.",
                    ]
                )
            )
        else:
            parts.append(f"{subject} was treated with {drug_name}.")
        parts.append(
            rng.choice(
                [
                    f"On {_fmt_date(rng, tc.onset)} {event} occurred.",
                    f"{event.capitalize()} developed on {_fmt_date(rng, tc.onset)}.",
                    f"{event.capitalize()} was reported.",
                ]
            )
        )
        for d in tc.extra_dates:
            if rng.random() < 0.6 * detail:
                parts.append(
                    rng.choice(
                        [
                            f"Admitted to hospital on {_fmt_date(rng, d)}.",
                            f"Laboratory tests were done on {_fmt_date(rng, d)}.",
                            f"Seen again on {_fmt_date(rng, d)}.",
                        ]
                    )
                )
        if tc.tag == "twin":
            parts.append("One of twins born at term.")
        return " ".join(parts)

    # --- scenarios -------------------------------------------------------------------------
    def _emit(
        self,
        tc: TrueCase,
        channel: str,
        sender: str,
        received: date,
        *,
        detail: float = 1.0,
        followups: int | None = None,
        worldwide: bool = False,
        cites: tuple[str, str, str] | None = None,
        cited_lineage: str | None = None,
    ) -> tuple[str, str, str, str]:
        """Emit one lineage (an initial report and its follow-ups).

        Returns sender, sender's case id, the first report's id, and the worldwide case id a
        forwarding regulator would carry.
        """
        rng = self.rng
        rid = self._next_id(sender, tc.patient.country, received.year)
        wid = cites[2] if (worldwide and cites) else None
        if wid is None and channel == "partner":
            prefix = "".join(w[0] for w in sender.split()).upper()
            wid = rid if rid[:2].isalpha() else f"{tc.patient.country}-{prefix}-{rid}"
        other = (
            [OtherCaseId(source=cites[0], case_id=cites[1])]
            if (cites and not (worldwide and cites))
            else None
        )
        root = self._uid("R")
        if channel in ("physician", "site") and not cites:
            self._forms.append((tc, channel, received))
        case = self.render(tc, channel, sender, rid, detail=detail, worldwide=wid, cites=other)
        lineage = f"{sender}|{rid}"
        expected_dup = None
        expected_link = None
        kind = "initial"
        if cites and worldwide:
            expected_link, kind = cited_lineage, "followup"
        elif cites:
            expected_dup = cited_lineage
        self.reports.append(
            LabelledReport(
                root,
                case,
                tc.cid,
                tc.patient.pid,
                lineage,
                kind,
                tc.tag,
                expected_link,
                expected_dup,
                received,
            )
        )
        n = followups if followups is not None else rng.choices([0, 1, 2], weights=[7, 2, 1])[0]
        for k in range(n):
            fid = (
                rid
                if rng.random() < 0.7
                else rng.choice([rid.lower(), f" {rid} ", rid.replace("-", " ")])
            )
            fcase = self.render(
                tc,
                channel,
                sender,
                fid,
                detail=min(1.0, detail + 0.2),
                worldwide=wid,
                cites=other,
                follow_up=k + 1,
            )
            self.reports.append(
                LabelledReport(
                    self._uid("R"),
                    fcase,
                    tc.cid,
                    tc.patient.pid,
                    lineage,
                    "followup",
                    tc.tag,
                    expected_link or root,
                    None,
                    received + timedelta(days=7 * (k + 1)),
                )
            )
        return sender, rid, root, wid or rid

    def _channel(self, exclude: str | None = None) -> tuple[str, str]:
        rng = self.rng
        while True:
            channel = rng.choice(["physician", "consumer", "partner", "regulator"])
            if channel == exclude:
                continue
            if channel == "physician":
                return channel, OWN_SENDER
            if channel == "consumer":
                return channel, OWN_SENDER
            if channel == "partner":
                return channel, rng.choice(COMPANY_SENDERS + SIMPLE_NUMBERING)
            return channel, rng.choice(list(REGULATORS.values()))

    def _received(self, tc: TrueCase) -> date:
        return tc.onset + timedelta(days=self.rng.randrange(3, 60))

    def spontaneous(self) -> None:
        rng = self.rng
        tc = self._case(self._patient())
        ch, sender = self._channel()
        received = self._received(tc)
        first = self._emit(tc, ch, sender, received, detail=0.7 if ch == "consumer" else 1.0)
        for _ in range(rng.choices([0, 1, 2], weights=[6, 3, 1])[0]):
            ch2, sender2 = self._channel(exclude=ch)
            when = received + timedelta(days=rng.randrange(1, 90))
            r = rng.random()
            if r < 0.1 and sender2 != first[0]:
                self._emit(
                    tc,
                    "regulator",
                    sender2,
                    when,
                    cites=(first[0], first[1], first[3]),
                    worldwide=True,
                    cited_lineage=first[2],
                    followups=0,
                )
            elif r < 0.2 and sender2 != first[0]:
                self._emit(
                    tc,
                    ch2,
                    sender2,
                    when,
                    cites=(first[0], first[1], first[3]),
                    cited_lineage=first[2],
                    followups=0,
                )
            else:
                self._emit(tc, ch2, sender2, when, detail=0.7 if ch2 == "consumer" else 1.0)

    def study_case(self, *, second_event: bool) -> None:
        """A trial SAE: site form and often the CRO's E2B; sometimes a later, different event."""
        rng = self.rng
        number, _ = rng.choice(self.studies)
        subject = f"{rng.randrange(1, 40):03d}-{rng.randrange(1, 999):04d}"
        site = rng.choice(GIVEN), rng.choice(FAMILY), "1"
        p = self._patient()
        drug = [rng.randrange(len(SUBSTANCES))]
        tc = self._case(p, drugs=drug, reporter=site, study=(number, subject, site[1]), tag="study")
        received = self._received(tc)
        self._emit(tc, "site", OWN_SENDER, received)
        if rng.random() < 0.45:
            self._emit(tc, "partner", rng.choice(COMPANY_SENDERS), received + timedelta(days=5))
        if second_event:
            later = tc.onset + timedelta(days=rng.randrange(10, 200))
            ev = [e for e in self._events(1) if e not in tc.events] or [(tc.events[0] + 1) % 18]
            tc2 = self._case(
                p,
                onset=later,
                events=ev,
                drugs=drug,
                reporter=site,
                study=tc.study,
                tag="same_subject_new_event",
            )
            r2 = self._received(tc2)
            self._emit(tc2, "site", OWN_SENDER, r2)
            if rng.random() < 0.4:
                self._emit(tc2, "partner", rng.choice(COMPANY_SENDERS), r2 + timedelta(days=4))

    def study_common_event(self) -> None:
        """Many subjects of one study on the same drug with the same common event."""
        rng = self.rng
        number, _ = rng.choice(self.studies)
        drug = [rng.randrange(len(SUBSTANCES))]
        event = [rng.choice([0, 1, 3, 4])]
        site = rng.choice(GIVEN), rng.choice(FAMILY), "1"
        country = _pick(rng, COUNTRIES)
        start = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 900))
        centre = rng.randrange(1, 40)
        for _ in range(rng.randrange(6, 16)):
            p = self._patient(country=country)
            subject = f"{centre:03d}-{rng.randrange(1, 999):04d}"
            tc = self._case(
                p,
                onset=start + timedelta(days=rng.randrange(0, 60)),
                events=event,
                drugs=drug,
                reporter=site,
                study=(number, subject, site[1]),
                tag="study_common",
            )
            received = self._received(tc)
            self._emit(tc, "site", OWN_SENDER, received)
            if rng.random() < 0.2:
                self._emit(tc, "partner", rng.choice(COMPANY_SENDERS), received + timedelta(days=3))

    def twins(self) -> None:
        rng = self.rng
        birth = date(2021, 1, 1) + timedelta(days=rng.randrange(0, 900))
        family = rng.choice(FAMILY)
        country = _pick(rng, COUNTRIES)
        reporter = rng.choice(GIVEN), rng.choice(FAMILY), "1"
        drug = [rng.randrange(len(SUBSTANCES))]
        event = [rng.choice([18, 19])]
        onset = birth + timedelta(days=rng.randrange(0, 5))
        first = self._patient(birth=birth, family=family, country=country, infant=True)
        second = self._patient(birth=birth, family=family, country=country, infant=True)
        while second.given[0] == first.given[0]:
            second.given = rng.choice(GIVEN)
        for p in (first, second):
            tc = self._case(
                p,
                onset=onset + timedelta(days=rng.choice([0, 0, 1])),
                events=event,
                drugs=drug,
                reporter=reporter,
                tag="twin",
            )
            ch = rng.choice(["physician", "partner"])
            sender = OWN_SENDER if ch == "physician" else rng.choice(COMPANY_SENDERS)
            received = self._received(tc)
            self._emit(tc, ch, sender, received)
            if rng.random() < 0.4:
                ch2, sender2 = self._channel(exclude=ch)
                self._emit(tc, ch2, sender2, received + timedelta(days=rng.randrange(2, 40)))

    def literature_series(self) -> None:
        rng = self.rng
        authors = [
            f"{rng.choice(FAMILY)} {rng.choice(string.ascii_uppercase)}"
            for _ in range(rng.randrange(1, 5))
        ]
        drug = [rng.randrange(len(SUBSTANCES))]
        event = [rng.randrange(len(EVENTS) - 4)]
        year = rng.choice([2022, 2023, 2024])
        title = (
            f"{EVENTS[event[0]][1]} associated with {SUBSTANCES[drug[0]][1]}: "
            f"a series of {rng.randrange(3, 9)} cases"
        )
        ref = (
            f"{', '.join(authors)}. {title}. {rng.choice(JOURNALS)}. {year};"
            f"{rng.randrange(1, 60)}({rng.randrange(1, 12)}):"
            f"{rng.randrange(1, 900)}-{rng.randrange(900, 999)}."
        )
        country = _pick(rng, COUNTRIES)
        for _ in range(rng.randrange(3, 7)):
            p = self._patient(country=country)
            tc = self._case(
                p,
                onset=date(year - 1, 1, 1) + timedelta(days=rng.randrange(0, 700)),
                events=event,
                drugs=drug,
                literature=ref,
                tag="series",
            )
            received = date(year, 6, 1) + timedelta(days=rng.randrange(0, 150))
            if rng.random() < 0.25:
                ch, sender = self._channel()
                self._emit(tc, ch, sender, tc.onset + timedelta(days=20))
            for sender in rng.sample([OWN_SENDER, *COMPANY_SENDERS], rng.choice([1, 1, 2])):
                self._emit(
                    tc,
                    "literature",
                    sender,
                    received + timedelta(days=rng.randrange(0, 20)),
                    followups=0,
                )

    def generate(self, n_cases: int) -> list[LabelledReport]:
        """About ``n_cases`` true cases, mixed across scenarios, ordered by receipt date."""
        rng = self.rng
        true_cases: set[str] = set()
        done = 0
        while len(true_cases) < n_cases:
            true_cases.update(r.true_case for r in self.reports[done:])
            done = len(self.reports)
            r = rng.random()
            if r < 0.62:
                self.spontaneous()
            elif r < 0.8:
                self.study_case(second_event=rng.random() < 0.3)
            elif r < 0.86:
                self.study_common_event()
            elif r < 0.93:
                self.twins()
            else:
                self.literature_series()
        self.faxed_copies()
        self.reports.sort(key=lambda rep: (rep.received, rep.report_id))
        return self.reports

    def faxed_copies(self, share: float = FAXED_SHARE) -> None:
        """A physician's or site's form that also reaches a partner or regulator on paper.

        The same form is sent (or forwarded) by fax to a company or an agency, which reads it
        by OCR or keys it in and sends its own E2B: a duplicate from a healthcare professional
        through a second route, the most common kind of duplicate in FAERS (Janiczak et al.,
        "An Evaluation of Duplicate Adverse Event Reports Characteristics in the FDA Adverse
        Event Reporting System", Drug Saf 2025;48(10), doi:10.1007/s40264-025-01560-7: 89% of
        duplicates from healthcare professionals; coded information often differs within a
        duplicate set), with the reading errors manual and OCR input put into names and
        numbers (drug name input errors from MedWatch forms in FAERS: PMC7359666). The
        character confusions (``OCR_CONFUSIONS``) are this generator's own model.

        Drawn after every other report, from a generator of their own, so the rest of the
        stream is unchanged; a copy carries no id of the original (nobody cites the fax).
        """
        side = random.Random(f"{self.seed}|faxed")
        forms = list(self._forms)
        saved = self.rng
        self.rng = side
        try:
            for tc, channel, received in forms:
                if side.random() >= share:
                    continue
                sender = side.choice([*COMPANY_SENDERS, *REGULATORS.values()])
                when = received + timedelta(days=side.randrange(1, 30))
                before = len(self.reports)
                self._emit(tc, channel, sender, when, followups=0)
                for r in self.reports[before:]:
                    _ocr_case(side, r.case)
        finally:
            self.rng = saved


def generate_stream(seed: int, n_cases: int) -> list[LabelledReport]:
    return StreamGenerator(seed).generate(n_cases)

"""What-if input: a case JSON plus the facts around it, evaluated without storing anything.

``safety rules evaluate CASE.json`` accepts either the plain case JSON produced by
:func:`safety.cases.codec.case_to_json`, or that JSON wrapped with the facts the case model does
not hold::

    {
      "case": { ... case_to_json(...) ... },
      "case_id": "SD-2026-0001",            # default "what-if"
      "version": 2,                         # default 1
      "timezone": "Europe/London",          # default: the caller's zone (SAFETY_TIMEZONE)
      "anchors": {                          # ISO instants (with offset) or dates
        "first_receipt": "2026-02-27T09:15:00Z",      # default: case admin.first_received
        "significant_followup": "2026-03-02T16:00:00-05:00",
        "sponsor_determination": "2026-02-28",
        "fatal_lt_awareness": "2026-03-02",
        "reportable_awareness": "2026-03-04"           # a later assessment made it reportable
      },
      "receipts": [                         # who received it first sets first_receipt
        {"party": "Kumo Pharma", "role": "licence_partner", "at": "2026-02-27T08:00:00+09:00"},
        {"party": "PV London", "role": "sponsor", "at": "2026-03-02"}
      ],
      "followup": "initial" | "significant" | "non_significant" | "reassessment",  # default
                                            # "initial"; a whole history: see load_history
      "unblinded_arm": "placebo" | "<product id>" | null,
      "registry": {"products": [...], "studies": [...]},  # as registry_to_json
      "rsi": [{"product_id", "reference", "version", "effective_from", "expected_pts"}],
      "ime": ["<PT code>", ...], "dme": ["<PT code>", ...],
      "rules_options": {"uk_ct_followup": "always" | "if_incomplete"},   # as the sponsor's

      "previous": [ <obligation JSON with "status", optional "submitted_on" and "complete"> ]
                  or the whole output of `safety rules evaluate --json` (its "obligations"),
      "assessments": [                      # extra causality assessments (G.k.9.i.2.r)
        {"reaction_id": "...", "drug_id": "...", "source": "Sponsor",
         "method": "WHO-UMC", "result": "Possible"},
        {"reaction_id": "...", "drug_id": "...", "source": "Investigator",
         "naranjo": ["yes", "yes", "unknown", ...10 answers]}
      ]
    }

A plain case JSON is recognised by the absence of a top-level ``"case"`` key; with it, the
registry and RSI come from the ``--registry``/``--rsi`` files given to the command (if any).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from safety.cases.codec import case_from_json
from safety.cases.model import Assessment, CaseVersionData, DrugReaction
from safety.cases.values import PartialDate, PartialDateError
from safety.products.registry import (
    Registry,
    product_from_dict,
    registry_to_json,
    study_from_dict,
)
from safety.products.rsi import RsiLibrary, RsiVersion, rsi_from_dict
from safety.rules.capacity import applicable_regimes, with_options
from safety.rules.causality import CausalityError, naranjo_assessment
from safety.rules.day0 import (
    CASE_ANCHORS,
    Anchor,
    AnchorKind,
    Anchors,
    Day0Error,
    Receipt,
    first_of,
    org_zone,
    receipt_from_json,
    receipts_anchors,
)
from safety.rules.facts import CaseFacts, FollowUp, build_facts
from safety.rules.history import CaseHistory, RulesContext, evaluate_history, history_from_json
from safety.rules.obligations import Evaluation, Obligation, obligation_from_json
from safety.rules.regime import Regime, load_regimes
from safety.rules.seriousness import MedicallyImportantLists
from safety.sponsors.profile import (
    ProfileError,
    RulesOptions,
    reporting_from_json,
    rules_options_from_json,
)


class WhatIfError(ValueError):
    """The what-if JSON is malformed; the message names the key."""


@dataclass(frozen=True, slots=True)
class WhatIf:
    case: CaseVersionData
    facts: CaseFacts
    previous: tuple[Obligation, ...]
    options: RulesOptions = field(default_factory=RulesOptions)  # the sponsor's readings


def anchors_from_case(
    case: CaseVersionData, zone: str | None = None, given: dict[str, str] | None = None,
    receipts: list[Any] | None = None,
) -> Anchors:
    """Anchors from explicit values, falling back to C.1.4 for first receipt. ``receipts`` (by
    party) set first receipt to the earliest of them (GVP VI.B.7) and may not be combined with
    an explicit first_receipt."""
    tz = org_zone(zone)
    given = dict(given or {})
    parsed: list[Receipt] = []
    if receipts:
        if "first_receipt" in given:
            raise WhatIfError("anchors.first_receipt: give either first_receipt or receipts, "
                              "not both (day 0 is the earliest receipt)")
        if not isinstance(receipts, list):
            raise WhatIfError("receipts: expected a list of {party, role, at}")
        try:
            parsed = [receipt_from_json(r, f"receipts[{i}]") for i, r in enumerate(receipts)]
            given["first_receipt"] = first_of(parsed, tz).day.isoformat()
        except Day0Error as exc:
            raise WhatIfError(str(exc)) from exc
    if "first_receipt" not in given:
        fr = case.admin.first_received
        if not isinstance(fr, PartialDate):
            raise WhatIfError("anchors.first_receipt: not given and case admin.first_received "
                              "(C.1.4) is absent")
        given["first_receipt"] = fr.isoformat()
    out: dict[str, Anchor] = {}
    for key, value in given.items():
        try:
            kind = AnchorKind(key)
        except ValueError:
            raise WhatIfError(f"anchors.{key}: unknown anchor") from None
        if kind not in CASE_ANCHORS:
            raise WhatIfError(f"anchors.{key}: not an anchor of the case (a report's filing "
                              "date is given as submitted_on of a previous obligation)")
        try:
            out[key] = Anchor.from_partial(kind, PartialDate.parse_iso(value), tz)
        except (PartialDateError, Day0Error) as exc:
            raise WhatIfError(f"anchors.{key}: {exc}") from exc
    try:
        anchors = Anchors(
            out["first_receipt"], significant_followup=out.get("significant_followup"),
            sponsor_determination=out.get("sponsor_determination"),
            fatal_lt_awareness=out.get("fatal_lt_awareness"),
            reportable_awareness=out.get("reportable_awareness"))
        return receipts_anchors(parsed, tz, anchors) if parsed else anchors
    except Day0Error as exc:
        raise WhatIfError(f"anchors: {exc}") from exc


def _add_assessment(case: CaseVersionData, a: dict[str, Any], where: str) -> None:
    drug = next((d for d in case.drugs if d.id == a.get("drug_id")), None)
    if drug is None:
        raise WhatIfError(f"{where}.drug_id: no drug {a.get('drug_id')!r} in the case")
    if case.reaction(str(a.get("reaction_id"))) is None:
        raise WhatIfError(f"{where}.reaction_id: no reaction {a.get('reaction_id')!r}")
    source = str(a.get("source") or "")
    if not source:
        raise WhatIfError(f"{where}.source: required (e.g. Investigator, Sponsor)")
    if "naranjo" in a:
        try:
            assessment = naranjo_assessment(source, list(a["naranjo"]))
        except CausalityError as exc:
            raise WhatIfError(f"{where}.naranjo: {exc}") from exc
    else:
        assessment = Assessment(source=source, method=a.get("method"), result=a.get("result"))
    link = next((x for x in drug.reactions if x.reaction_id == a["reaction_id"]), None)
    if link is None:
        link = DrugReaction(reaction_id=a["reaction_id"])
        drug.reactions.append(link)
    link.assessments.append(assessment)


def load_whatif(
    data: dict[str, Any], registry: Registry | None = None, rsi: RsiLibrary | None = None,
    zone: str | None = None,
) -> WhatIf:
    """``zone`` is the organisation's zone (``settings.timezone``), used unless the file names
    one; without either the anchors are read in UTC."""
    if not isinstance(data, dict):
        raise WhatIfError("top level: expected a JSON object")
    wrapped = "case" in data
    case = case_from_json(data["case"] if wrapped else data)
    extra = data if wrapped else {}
    reg = registry or Registry()
    for i, p in enumerate(extra.get("registry", {}).get("products", ())):
        reg.add_product(product_from_dict(p, f"registry.products[{i}]"))
    for i, s in enumerate(extra.get("registry", {}).get("studies", ())):
        reg.add_study(study_from_dict(s, f"registry.studies[{i}]"))
    lib = rsi or RsiLibrary()
    for i, v in enumerate(extra.get("rsi", ())):
        lib.add(rsi_from_dict(v, f"rsi[{i}]"))
    try:
        followup = FollowUp(extra.get("followup", "initial"))
    except ValueError:
        raise WhatIfError(f"followup: {extra.get('followup')!r} is not one of "
                          f"{[f.value for f in FollowUp]}") from None
    for i, a in enumerate(extra.get("assessments", ())):
        _add_assessment(case, a, f"assessments[{i}]")
    anchors = anchors_from_case(case, extra.get("timezone") or zone, extra.get("anchors"),
                                extra.get("receipts"))
    lists = MedicallyImportantLists(frozenset(extra.get("ime", ())),
                                    frozenset(extra.get("dme", ())))
    facts = build_facts(
        case, case_id=str(extra.get("case_id", "what-if")), version=int(extra.get("version", 1)),
        anchors=anchors, registry=reg, rsi=lib, lists=lists, followup=followup,
        unblinded_arm=extra.get("unblinded_arm"),
    )
    given = extra.get("previous", ())
    if isinstance(given, dict):  # a whole evaluation, as `rules evaluate --json` prints it
        given = given.get("obligations", ())
        where = "previous.obligations"
    else:
        where = "previous"
    if not isinstance(given, list | tuple):
        raise WhatIfError(f"{where}: expected a list of obligations or an evaluation object")
    try:
        previous = tuple(obligation_from_json(o, f"{where}[{i}]") for i, o in enumerate(given))
    except (ValueError, AttributeError) as exc:
        raise WhatIfError(str(exc)) from exc
    try:
        options = rules_options_from_json(extra.get("rules_options"))
    except ProfileError as exc:
        raise WhatIfError(str(exc).replace("rules", "rules_options", 1)) from exc
    return WhatIf(case, facts, previous, options)


# --- case histories ----------------------------------------------------------------------


def rsi_version_to_json(v: RsiVersion) -> dict[str, Any]:
    """Inverse of :func:`safety.products.rsi.rsi_from_dict`."""
    return {"product_id": v.product_id, "reference": v.reference, "version": v.version,
            "effective_from": v.effective_from.isoformat(),
            "expected_pts": sorted(v.expected_pts), "document": v.document}


def is_history(data: object) -> bool:
    """A case history file has a top-level ``history`` list (docs/rules.md)."""
    return isinstance(data, dict) and "history" in data


def load_history(
    data: dict[str, Any], registry: Registry | None = None, rsi: RsiLibrary | None = None,
    zone: str | None = None, regimes: Sequence[Regime] | None = None,
) -> tuple[CaseHistory, RulesContext, tuple[str, ...]]:
    """A case history file and the context it is judged in (the same keys as the what-if
    wrapper: ``registry``, ``rsi``, ``ime``, ``dme``, ``rules_options``, and ``reporting``,
    the sponsor's capacities as ``safety sponsor show`` prints them)::

        {"case_id": "SD-2026-0001", "timezone": "Europe/London",
         "registry": {...}, "rsi": [...], "rules_options": {...}, "reporting": [...],
         "history": [
           {"type": "received", "version": 1, "case": {...},
            "receipts": [{"party": "Kumo Pharma", "role": "licence_partner",
                          "at": "2026-02-27T08:00:00+09:00"}]},
           {"type": "assessment", "reaction_id": "r1", "drug_id": "d1", "on": "2026-03-02",
            "causality": "related", "expected": false, "reference": "IB",
            "rsi_version": "IB ed. 7"},
           {"type": "unblinding", "on": "2026-03-03", "arm": "SDX-101"},
           {"type": "filing", "on": "2026-03-05", "regime": "eu-ctr",
            "rule": "eu-ctr-susar-7", "complete": false},
           {"type": "received", "version": 2, "case": {...}, "receipts": [...]},
           {"type": "nullification", "on": "2026-04-01", "reason": "duplicate"}]}

    Returns the history, the context, and the notes of the sponsor's settings applied."""
    reg = registry or Registry()
    try:
        for i, p in enumerate(data.get("registry", {}).get("products", ())):
            reg.add_product(product_from_dict(p, f"registry.products[{i}]"))
        for i, s in enumerate(data.get("registry", {}).get("studies", ())):
            reg.add_study(study_from_dict(s, f"registry.studies[{i}]"))
        lib = rsi or RsiLibrary()
        for i, v in enumerate(data.get("rsi", ())):
            lib.add(rsi_from_dict(v, f"rsi[{i}]"))
    except (AttributeError, TypeError) as exc:
        raise WhatIfError(f"registry/rsi: {exc}") from exc
    try:
        options = rules_options_from_json(data.get("rules_options"))
        reporting = reporting_from_json(data.get("reporting") or [])
    except ProfileError as exc:
        raise WhatIfError(str(exc).replace("rules", "rules_options", 1)) from exc
    lists = MedicallyImportantLists(frozenset(data.get("ime", ())),
                                    frozenset(data.get("dme", ())))
    bound = applicable_regimes(regimes if regimes is not None else load_regimes(), reporting,
                               str(data.get("sponsor") or "of this history"))
    chosen = with_options(bound.regimes, options)
    history = history_from_json(data, zone)
    return (history, RulesContext(reg, lib, chosen.regimes, lists),
            (*bound.notes, *chosen.notes))


def context_to_json(registry: Registry, rsi: RsiLibrary) -> dict[str, Any]:
    return {"registry": registry_to_json(registry),
            "rsi": [rsi_version_to_json(v) for v in rsi.versions()]}


def evaluate_history_json(
    data: dict[str, Any], registry: Registry | None = None, rsi: RsiLibrary | None = None,
    zone: str | None = None, regimes: Sequence[Regime] | None = None,
) -> Evaluation:
    """The evaluation of a history file: the CLI's and the API's one entry point."""
    history, ctx, notes = load_history(data, registry, rsi, zone, regimes)
    ev = evaluate_history(history, ctx).evaluation
    ev.notes.extend(notes)
    return ev

"""Reporting regimes as data: one TOML file per regime under ``regimes/``.

A regime names a destination, the jurisdiction whose product status puts a case in scope, and a
list of rules. Each rule is a conjunction of a fixed vocabulary of conditions (serious,
fatal_or_lt, unexpected, related, occurrence) plus a clock (anchor + calendar days) and the
legal citation it comes from. Adding a regime is a new file; the vocabulary below is the whole
contract between the files and the engine, and :func:`load_regime` rejects anything else.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from safety.products.registry import regions
from safety.rules.causality import Policy
from safety.rules.day0 import AnchorKind
from safety.rules.facts import Source

REGIMES_DIR = Path(__file__).with_name("regimes")
SCOPES = ("clinical_trial", "post_marketing")
OCCURRENCE = ("any", "domestic", "foreign")
RULE_KINDS = ("initial", "completion")
ONLY_IF = ("initial_incomplete",)
WHEN_KEYS = {"serious", "fatal_or_lt", "unexpected", "related", "occurrence"}


class RegimeError(ValueError):
    """A regime file is malformed; the message names the file, rule and key."""


@dataclass(frozen=True, slots=True)
class Condition:
    serious: bool | None = None
    fatal_or_lt: bool | None = None
    unexpected: bool | None = None
    related: bool | None = None
    occurrence: str = "any"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    report_type: str
    citation: str
    summary: str
    days: int
    anchor: AnchorKind
    when: Condition
    kind: str = "initial"
    follows: tuple[str, ...] = ()
    upgrade_anchor: AnchorKind | None = None
    upgrade_citation: str = ""
    in_addition: bool = False  # owed besides the regime's other report, never covered by it
    only_if: str | None = None  # completion: "initial_incomplete" = only after an incomplete one


@dataclass(frozen=True, slots=True)
class FollowUpRule:
    report_type: str
    citation: str
    anchor: AnchorKind
    days: int | None  # None: the clock of the rule the case qualifies under
    # A filed report whose case stops qualifying is followed up (a report owed), not amended
    # on the sponsor's initiative (21 CFR 312.32(d)(2)).
    on_downgrade: bool = False


@dataclass(frozen=True, slots=True)
class Regime:
    id: str
    name: str
    destination: str
    jurisdiction: str
    region: frozenset[str]
    scope: str
    causality: Policy
    rsi: str  # "IB" or "label"
    sources: frozenset[Source]
    require_study_in_jurisdiction: bool
    legal_source: str
    url: str
    verified: str
    rules: tuple[Rule, ...]
    followup: FollowUpRule
    path: str = ""

    @property
    def rsi_reference(self) -> str:
        return "IB" if self.rsi == "IB" else f"label:{self.jurisdiction}"

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def _get(obj: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise RegimeError(f"{where}: missing {key!r}")
    if not isinstance(obj[key], typ):
        raise RegimeError(f"{where}.{key}: expected {typ}, got {obj[key]!r}")
    return obj[key]


def _flag(obj: dict[str, Any], key: str, where: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise RegimeError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _anchor(value: str, where: str) -> AnchorKind:
    try:
        return AnchorKind(value)
    except ValueError:
        allowed = ", ".join(a.value for a in AnchorKind)
        raise RegimeError(f"{where}: anchor {value!r} is not one of {allowed}") from None


def _rule(obj: dict[str, Any], where: str) -> Rule:
    rid = _get(obj, "id", str, where)
    where = f"{where}[{rid}]"
    kind = obj.get("kind", "initial")
    if kind not in RULE_KINDS:
        raise RegimeError(f"{where}.kind: {kind!r} is not one of {RULE_KINDS}")
    when = obj.get("when", {})
    unknown = set(when) - WHEN_KEYS
    if unknown:
        raise RegimeError(f"{where}.when: unknown condition(s) {sorted(unknown)}")
    occ = when.get("occurrence", "any")
    if occ not in OCCURRENCE:
        raise RegimeError(f"{where}.when.occurrence: {occ!r} is not one of {OCCURRENCE}")
    days = _get(obj, "days", int, where)
    if days < 0:
        raise RegimeError(f"{where}.days: must be >= 0")
    follows = tuple(obj.get("follows", ()))
    if kind == "completion" and not follows:
        raise RegimeError(f"{where}: a completion rule needs 'follows'")
    up = obj.get("upgrade_anchor")
    in_addition = _flag(obj, "in_addition", where)
    only_if = obj.get("only_if")
    if only_if is not None and (kind != "completion" or only_if not in ONLY_IF):
        raise RegimeError(f"{where}.only_if: {only_if!r} is allowed on completion rules only, "
                          f"as one of {ONLY_IF}")
    return Rule(
        id=rid,
        report_type=_get(obj, "report_type", str, where),
        citation=_get(obj, "citation", str, where),
        summary=obj.get("summary", ""),
        days=days,
        anchor=_anchor(obj.get("anchor", "first_receipt"), where),
        when=Condition(when.get("serious"), when.get("fatal_or_lt"), when.get("unexpected"),
                       when.get("related"), occ),
        kind=kind,
        follows=follows,
        upgrade_anchor=_anchor(up, where) if up else None,
        upgrade_citation=obj.get("upgrade_citation", ""),
        in_addition=in_addition,
        only_if=only_if,
    )


def regime_from_dict(data: dict[str, Any], where: str) -> Regime:
    head = _get(data, "regime", dict, where)
    w = f"{where}:regime"
    scope = _get(head, "scope", str, w)
    if scope not in SCOPES:
        raise RegimeError(f"{w}.scope: {scope!r} is not one of {SCOPES}")
    region_name = _get(head, "region", str, w)
    if region_name not in regions():
        raise RegimeError(f"{w}.region: {region_name!r} is not in products/data/regions.toml")
    try:
        policy = Policy(head.get("causality", "no_downgrade"))
        sources = frozenset(Source(s) for s in head.get("sources", [s.value for s in Source]))
    except ValueError as exc:
        raise RegimeError(f"{w}: {exc}") from None
    rsi = head.get("rsi", "IB" if scope == "clinical_trial" else "label")
    if rsi not in ("IB", "label"):
        raise RegimeError(f"{w}.rsi: {rsi!r} must be 'IB' or 'label'")
    rules = tuple(_rule(r, f"{where}:rules") for r in _get(data, "rules", list, where))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise RegimeError(f"{where}: duplicate rule ids")
    for r in rules:
        for f in r.follows:
            if f not in ids:
                raise RegimeError(f"{where}:rules[{r.id}].follows: unknown rule {f!r}")
    fu = _get(data, "followup", dict, where)
    followup = FollowUpRule(
        report_type=_get(fu, "report_type", str, f"{where}:followup"),
        citation=_get(fu, "citation", str, f"{where}:followup"),
        anchor=_anchor(fu.get("anchor", "significant_followup"), f"{where}:followup"),
        days=fu.get("days"),
        on_downgrade=_flag(fu, "on_downgrade", f"{where}:followup"),
    )
    return Regime(
        id=_get(head, "id", str, w), name=_get(head, "name", str, w),
        destination=_get(head, "destination", str, w),
        jurisdiction=_get(head, "jurisdiction", str, w), region=regions()[region_name],
        scope=scope, causality=policy, rsi=rsi, sources=sources,
        require_study_in_jurisdiction=bool(head.get("require_study_in_jurisdiction", False)),
        legal_source=_get(head, "legal_source", str, w), url=head.get("url", ""),
        verified=head.get("verified", ""), rules=rules, followup=followup, path=where,
    )


def load_regime(path: Path) -> Regime:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise RegimeError(f"{path}: not TOML ({exc})") from exc
    return regime_from_dict(data, str(path))


@cache
def _load_dir(directory: str) -> tuple[Regime, ...]:
    return tuple(load_regime(p) for p in sorted(Path(directory).glob("*.toml")))


def load_regimes(directory: Path | None = None) -> tuple[Regime, ...]:
    """Every regime file in ``directory`` (default: the shipped ``regimes/``), cached."""
    return _load_dir(str(directory or REGIMES_DIR))

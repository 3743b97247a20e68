"""Demo data: a CRO working for two sponsors (``demo/sponsors.json``: different studies,
products, regulators and time zones), each with its registry and RSI so demo cases get real
obligations; realistic SAE forms from the seeded generator submitted as their sites would; and
demo accounts that see one sponsor or both."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safety.accounts.clients import get_or_create_site, sites
from safety.accounts.roles import Role
from safety.accounts.users import create_user, get_user_by_email
from safety.config import Settings
from safety.db.session import unit_of_work
from safety.demo.generator import generate_forms
from safety.intake.service import Dispatch, Submitter, site_form_report, submit
from safety.intake.store import Incoming, Report
from safety.products.registry import Registry, load_registry_json
from safety.products.rsi import load_rsi_json
from safety.products.store import (
    RsiVersionRow,
    save_registry,
    save_rsi_version,
    sponsors_of_study,
)
from safety.sponsors.service import add_sponsor, sponsors
from safety.sponsors.store import sponsor_by_code


def _data(name: str) -> str:
    return resources.files("safety.demo").joinpath(name).read_text(encoding="utf-8")


def load_registry(settings: Settings) -> dict[str, int]:
    """The demo CRO's two sponsors, each with its own studies, products and RSI; returns the
    sponsor id for each demo study protocol."""
    spec = json.loads(_data("sponsors.json"))["sponsors"]
    with resources.as_file(resources.files("safety.demo")) as folder:
        registry = load_registry_json(Path(folder) / "registry.json")
        rsi = load_rsi_json(Path(folder) / "rsi.json")
    by_protocol: dict[str, int] = {}
    with unit_of_work(settings) as session:
        for s in spec:
            sponsor = sponsor_by_code(session, s["code"]) or add_sponsor(
                session, code=s["code"], name=s["name"], org_code=s["org_code"],
                case_prefix=s["case_prefix"], timezone=s["timezone"], sender=s["sender"],
                gateways=s["gateways"], reporting=s["reporting"], actor="cli:demo")
            mine = Registry()
            for protocol in s["protocols"]:
                study = registry.studies[protocol]
                mine.add_study(study)
                for product_id in study.products:
                    mine.add_product(registry.products[product_id])
                by_protocol[protocol] = sponsor.id
            save_registry(session, mine, sponsor.id)
            have = {tuple(r) for r in session.execute(select(
                RsiVersionRow.product_id, RsiVersionRow.reference, RsiVersionRow.version)
                .where(RsiVersionRow.sponsor_id == sponsor.id))}
            for version in rsi.versions():
                if version.product_id in mine.products and (
                        version.product_id, version.reference, version.version) not in have:
                    save_rsi_version(session, version, sponsor.id)
    return by_protocol


def submit_forms(settings: Settings, forms: Sequence[dict[str, Any]], dispatch: Dispatch, *,
                 sponsor_id: int | None = None, site_name: str | None = None,
                 actor: str = "cli:import",
                 progress: Callable[[int], None] | None = None,
                 stamp: Callable[[int, Incoming], Incoming] | None = None) -> list[uuid.UUID]:
    """Each form as its site submits it (the site named in the form, or ``site_name``), for
    the sponsor given, or else the one sponsor whose registry holds the form's study.
    ``progress`` is told of each form stored (``safety import``'s progress bar); ``stamp``
    (a migration) gives form ``i`` its original receipt (``safety.intake.service.migrated``)."""
    owners: list[int] = []
    with unit_of_work(settings) as session:
        for form in forms:  # every form's sponsor is known before the first is submitted
            study: dict[str, Any] = form["study"] if isinstance(form.get("study"), dict) else {}
            protocol = str(study.get("protocol_number"))
            found = [sponsor_id] if sponsor_id is not None else sponsors_of_study(
                session, protocol)
            if len(found) != 1:
                raise ValueError(f"form {form.get('sae_id')!r}: study {protocol!r} is in "
                                 f"{len(found)} sponsors' registries; name the sponsor")
            owners.append(found[0])
    ids: list[uuid.UUID] = []
    for i, (form, owner) in enumerate(zip(forms, owners, strict=True)):
        site_info: dict[str, Any] = form["site"] if isinstance(form.get("site"), dict) else {}
        study = form["study"] if isinstance(form.get("study"), dict) else {}
        with unit_of_work(settings) as session:
            site, _ = get_or_create_site(
                session, site_name or f"Site {site_info.get('number', 'demo')}",
                site_info.get("country"), owner, protocol=study.get("protocol_number"))
            site_id = site.id
        submitter = Submitter(actor=actor, sender=f"site:{site_id}", site_id=site_id,
                              sponsor_id=owner)
        incoming = site_form_report(submitter, form)
        if stamp is not None:
            incoming = stamp(i, incoming)
        accepted = submit(settings.effective_database_url, [incoming], submitter, dispatch)
        ids.extend(a.report.id for a in accepted)
        if progress is not None:
            progress(1)
    return ids


def load_demo(settings: Settings, dispatch: Dispatch, *, count: int = 36,
              seed: int = 2026) -> list[uuid.UUID]:
    load_registry(settings)
    return submit_forms(settings, generate_forms(count, seed), dispatch, actor="cli:demo")


def database_is_empty(settings: Settings) -> bool:
    with unit_of_work(settings) as session:
        return not session.execute(select(func.count(Report.id))).scalar_one()


def demo_accounts(session: Session) -> list[dict[str, Any]]:
    """Staff who work for one sponsor or for both (a physician for both, a processor for one
    only, an administrator), and a site submitter per site, with random passwords returned
    once. Existing accounts are left alone."""
    codes = {s.code: s.id for s in sponsors(session)}
    everyone = sorted(codes.values())
    names = {v: k for k, v in codes.items()}
    site_rows = list(sites(session))
    with_sites = sorted({site.sponsor_id for site in site_rows})
    first = (with_sites or everyone)[:1]
    wanted: list[tuple[str, str, str, int | None, list[int]]] = [
        ("physician@demo.example", "safety_physician", "Dr Demo Physician", None, everyone),
        ("processor@demo.example", "case_processor", "Demo Processor", None, first),
        ("admin@demo.example", "admin", "Demo Administrator", None, everyone),
    ]
    for site in site_rows:
        wanted.append((_demo_email(site.name, names[site.sponsor_id]), Role.SITE_SUBMITTER.value,
                       f"{site.name} staff", site.id, []))
    created = []
    for email, role, name, site_id, granted in wanted:
        if get_user_by_email(session, email) is not None:
            continue
        password = secrets.token_urlsafe(12)
        create_user(session, email=email, role=role, password=password, printed_name=name,
                    site_id=site_id, actor="cli:demo", sponsor_ids=granted)
        created.append({"email": email, "role": role, "password": password,
                        "sponsors": [names[s] for s in granted]})
    return created


def _demo_email(site_name: str, sponsor_code: str) -> str:
    """Sites are named per sponsor (two sponsors may each have a "Site 101")."""
    return ("".join(ch for ch in site_name.lower() if ch.isalnum())
            + f".{sponsor_code.lower()}@demo.example")

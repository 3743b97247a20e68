"""Demo data: the demo studies' products, studies and RSI (so demo cases get real obligations),
a demo sender where none is configured, realistic SAE forms from the seeded generator
submitted as their sites would, and demo accounts."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safety.accounts.clients import get_or_create_site, sites
from safety.accounts.roles import Role
from safety.accounts.users import create_user, get_user_by_email
from safety.config import Settings
from safety.db.session import session_scope
from safety.demo.generator import generate_forms
from safety.intake.service import Dispatch, Submitter, site_form_report, submit
from safety.intake.store import Report
from safety.products.registry import load_registry_json
from safety.products.rsi import load_rsi_json
from safety.products.store import RsiVersionRow, save_registry, save_rsi_version

DEMO_STAFF = (
    ("physician@demo.example", "safety_physician", "Dr Demo Physician"),
    ("processor@demo.example", "case_processor", "Demo Processor"),
    ("admin@demo.example", "admin", "Demo Administrator"),
)


def _data(name: str) -> str:
    return resources.files("safety.demo").joinpath(name).read_text(encoding="utf-8")


def load_registry(settings: Settings) -> None:
    """The demo studies' products, studies and RSI, and a demo organisation as sender where
    none is configured."""
    sender = settings.sender_profile_path
    if not sender.exists():
        sender.parent.mkdir(parents=True, exist_ok=True)
        sender.write_text(_data("sender.json"), encoding="utf-8")
    with resources.as_file(resources.files("safety.demo")) as folder:
        registry = load_registry_json(Path(folder) / "registry.json")
        rsi = load_rsi_json(Path(folder) / "rsi.json")
    with session_scope(settings.effective_database_url) as session:
        save_registry(session, registry)
        have = {tuple(r) for r in session.execute(select(
            RsiVersionRow.product_id, RsiVersionRow.reference, RsiVersionRow.version))}
        for version in rsi.versions():
            if (version.product_id, version.reference, version.version) not in have:
                save_rsi_version(session, version)


def submit_forms(settings: Settings, forms: Sequence[dict[str, object]], dispatch: Dispatch, *,
                 site_name: str | None = None, actor: str = "cli:import") -> list[uuid.UUID]:
    """Each form as its site submits it (the site named in the form, or ``site_name``)."""
    ids: list[uuid.UUID] = []
    for form in forms:
        site_info = form.get("site") if isinstance(form.get("site"), dict) else {}
        assert isinstance(site_info, dict)
        with session_scope(settings.effective_database_url) as session:
            site, _ = get_or_create_site(
                session, site_name or f"Site {site_info.get('number', 'demo')}",
                site_info.get("country"))
            site_id = site.id
        submitter = Submitter(actor=actor, sender=f"site:{site_id}", site_id=site_id)
        accepted = submit(settings.effective_database_url,
                          [site_form_report(submitter, form)], submitter, dispatch)
        ids.extend(a.report.id for a in accepted)
    return ids


def load_demo(settings: Settings, dispatch: Dispatch, *, count: int = 36,
              seed: int = 2026) -> list[uuid.UUID]:
    load_registry(settings)
    return submit_forms(settings, generate_forms(count, seed), dispatch, actor="cli:demo")


def database_is_empty(settings: Settings) -> bool:
    with session_scope(settings.effective_database_url) as session:
        return not session.execute(select(func.count(Report.id))).scalar_one()


def demo_accounts(session: Session) -> list[dict[str, str]]:
    """One account per staff role and a site submitter per site, with random passwords,
    returned once. Existing accounts are left alone."""
    wanted: list[tuple[str, str, str, int | None]] = [
        (email, role, name, None) for email, role, name in DEMO_STAFF]
    for site in sites(session):
        wanted.append((_demo_email(site.name), Role.SITE_SUBMITTER.value,
                       f"{site.name} staff", site.id))
    created = []
    for email, role, name, site_id in wanted:
        if get_user_by_email(session, email) is not None:
            continue
        password = secrets.token_urlsafe(12)
        create_user(session, email=email, role=role, password=password, printed_name=name,
                    site_id=site_id, actor="cli:demo")
        created.append({"email": email, "role": role, "password": password})
    return created


def _demo_email(site_name: str) -> str:
    return "".join(ch for ch in site_name.lower() if ch.isalnum()) + "@demo.example"

"""The ``safety`` command: serve, worker, scheduler, db, site, import, demo, and the feature
areas' commands. A thin shell: every command calls the same functions the API and jobs use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import click

from safety.config import ConfigError, Settings, load_settings


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings


@click.group()
@click.version_option(package_name="safetydesk")
def main() -> None:
    """SafetyDesk: adverse event intake, processing, review and E2B(R3) submission."""


# --- database ------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from safety.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.effective_database_url, revision)
    click.echo(f"database at {revision}: {_redact(settings.effective_database_url)}")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from safety.db.migrate import check

    check(_settings().effective_database_url)
    click.echo("models and migrations agree")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


# --- sites and clients --------------------------------------------------------------------


@main.group()
def site() -> None:
    """Clinical sites and their API tokens."""


@site.command("add")
@click.argument("name")
@click.option("--country", help="ISO 3166 alpha-2 country of the site.")
@click.option("--organisation", default="Sponsor", show_default=True)
def site_add(name: str, country: str | None, organisation: str) -> None:
    """Create site NAME (or reuse it) and print a new API token for it, once."""
    from safety.accounts.clients import get_or_create_site, issue_token
    from safety.db.session import session_scope

    settings = _settings()
    _ensure_db(settings)
    with session_scope(settings.effective_database_url) as session:
        s, created = get_or_create_site(session, name, country.upper() if country else None,
                                        organisation)
        token = issue_token(session, f"{name} token", "site", s)
        site_id = s.id
    click.echo(json.dumps({"site_id": site_id, "site": name, "created": created,
                           "token": token}))
    click.echo("Store this token now: it is not shown again.", err=True)


@main.group()
def client() -> None:
    """API clients of the safety team (see every case)."""


@client.command("add")
@click.argument("name")
def client_add(name: str) -> None:
    """Create a safety-team API client and print its token, once."""
    from safety.accounts.clients import issue_token
    from safety.db.session import session_scope

    settings = _settings()
    _ensure_db(settings)
    with session_scope(settings.effective_database_url) as session:
        token = issue_token(session, name, "safety", None)
    click.echo(json.dumps({"client": name, "role": "safety", "token": token}))



@client.command("list")
def client_list() -> None:
    """One JSON line per API client (never the token: only its first characters)."""
    from safety.accounts.clients import list_clients
    from safety.db.session import session_scope

    settings = _settings()
    _ensure_db(settings)
    with session_scope(settings.effective_database_url) as session:
        for c in list_clients(session):
            click.echo(json.dumps({
                "id": c.id, "client": c.name, "role": c.role, "site_id": c.site_id,
                "token_prefix": c.token_prefix,
                "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None}))


@client.command("revoke")
@click.argument("ref")
def client_revoke(ref: str) -> None:
    """Revoke a client's token, by id, token prefix or name (site tokens too)."""
    from safety.accounts.clients import UnknownClient, revoke_client
    from safety.db.session import session_scope

    settings = _settings()
    _ensure_db(settings)
    try:
        with session_scope(settings.effective_database_url) as session:
            c = revoke_client(session, ref)
            out = {"id": c.id, "client": c.name, "revoked_at": c.revoked_at.isoformat()}
    except UnknownClient as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(out))
    click.echo(f"Web processes stop accepting it within {settings.token_cache_seconds} s.",
               err=True)

# --- processes ----------------------------------------------------------------------------


@main.command()
@click.option("--burst", is_flag=True, help="Process what is queued, then exit.")
@click.option("--with-scheduler/--no-scheduler", default=True, show_default=True,
              help="Also run rq's scheduler for delayed retries.")
def worker(burst: bool, with_scheduler: bool) -> None:
    """Run a worker that processes reports and case stages."""
    from rq import Worker

    from safety.logging import configure_logging
    from safety.pipeline.context import set_settings
    from safety.queue.enqueue import get_queue

    settings = _settings()
    configure_logging(settings.log_level)
    _ensure_db(settings)
    set_settings(settings)
    from safety.pipeline.warm import warm_caches

    warm_caches(settings)
    queue = get_queue(settings)
    Worker([queue], connection=queue.connection).work(
        burst=burst, with_scheduler=with_scheduler, logging_level=settings.log_level)


@main.command()
def scheduler() -> None:
    """Run the periodic jobs (the sweep that requeues stored but unprocessed reports)."""
    from safety.pipeline.scheduler import run_cron

    run_cron(_settings())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Load the demo reports if the database is empty.")
def serve(host: str, port: int, web_workers: int, demo: bool) -> None:
    """Run the web app, a worker and the scheduler together; Ctrl-C stops all three."""
    from safety.queue.connection import redis_url, shutdown_embedded

    settings = _settings()
    _ensure_db(settings)
    env = dict(os.environ)
    env["SAFETY_HOME"] = str(settings.home)
    env["SAFETY_REDIS_URL"] = redis_url(settings)  # children join the embedded Redis
    exe = [sys.executable, "-m", "safety.cli"]
    procs = [
        subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
                          "--workers", str(web_workers), "--access-logfile", "-",
                          "--graceful-timeout", "5", "safety.app:create_app()"], env=env),
        subprocess.Popen([*exe, "worker"], env=env),
        subprocess.Popen([*exe, "scheduler"], env=env),
    ]
    click.echo(f"SafetyDesk on http://{host}:{port}  (API docs: /api/v1/docs; Ctrl-C stops)")
    if demo:
        n = _load_demo_if_empty(settings.with_overrides({"redis_url": env["SAFETY_REDIS_URL"]}))
        click.echo(f"demo: {n} reports submitted" if n else "demo: database already has data")
        if n:  # demo accounts, passwords printed once
            subprocess.run([*exe, "user", "demo"], env=env, check=False)
    stopping = False

    def _stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutdown_embedded()
        click.echo("stopped")


# --- data in ----------------------------------------------------------------------------


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--site", "site_name", default="Imported reports", show_default=True,
              help="The site the reports come from (created if missing).")
@click.option("--wait", is_flag=True, help="Wait until every report is processed.")
@click.option("--timeout", default=120, show_default=True, help="Seconds --wait waits.")
def import_(paths: tuple[str, ...], site_name: str, wait: bool, timeout: int) -> None:
    """Import SAE forms (JSON: one form or a list of forms per file).

    Prints one JSON line per report: its id, the file, and its status.
    """
    from marshmallow import ValidationError

    from safety.intake.schemas import SAEFormSchema

    settings = _settings()
    _ensure_db(settings)
    forms: list[tuple[str, dict[str, Any]]] = []
    xml_ids: list[uuid.UUID] = []
    failed = False
    for path in paths:
        if path.lower().endswith(".xml"):
            got = _import_xml(settings, Path(path))
            failed |= got is None
            xml_ids.extend(got or [])
            continue
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            click.echo(json.dumps({"file": path, "error": f"not readable JSON: {exc}"}))
            failed = True
            continue
        for i, form in enumerate(data if isinstance(data, list) else [data]):
            try:
                SAEFormSchema().load(form)
            except ValidationError as err:
                click.echo(json.dumps({"file": path, "index": i, "error": "invalid form",
                                       "errors": err.messages}))
                failed = True
                continue
            forms.append((path, form))
    ids = _submit_forms(settings, site_name, forms)
    for (path, _), rid in zip(forms, ids, strict=True):
        click.echo(json.dumps({"report_id": str(rid), "file": path, "status": "received"}))
    if wait and (ids or xml_ids):
        for rid, status in _wait_processed(settings, ids + xml_ids, timeout):
            click.echo(json.dumps({"report_id": str(rid), "status": status}))
    if failed:
        sys.exit(1)


def _import_xml(settings: Settings, path: Path) -> list[uuid.UUID] | None:
    """Each ICSR message of an E2B(R3) batch becomes a report, as through the API."""
    from safety.db.session import session_scope
    from safety.e2b.hl7 import E2BError
    from safety.intake.e2b_batch import split_batch
    from safety.intake.store import Incoming, store_report
    from safety.queue.enqueue import enqueue_report

    raw = path.read_bytes()
    try:
        messages = split_batch(raw)
    except E2BError as exc:
        click.echo(json.dumps({"file": str(path),
                               "error": f"not a readable E2B(R3) batch: {exc}"}))
        return None
    ids = []
    with session_scope(settings.effective_database_url) as session:
        for m in messages:
            report, _ = store_report(session, Incoming(
                channel="e2b", content_type="application/xml", raw=raw, payload=m.payload,
                sender=m.sender, sender_case_id=m.sender_case_id, site_id=None,
            ), None, actor="cli:import")
            ids.append((report.id, m.message_id))
    for rid, mid in ids:
        enqueue_report(settings, rid, fresh=True)
        click.echo(json.dumps({"report_id": str(rid), "file": str(path), "message_id": mid,
                               "status": "received"}))
    return [rid for rid, _ in ids]


@main.command()
@click.option("--count", default=36, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@click.option("--wait", is_flag=True, help="Wait until every report is processed.")
def demo(count: int, seed: int, wait: bool) -> None:
    """Load realistic demo SAE reports made by the seeded generator."""
    from safety.demo.generator import generate_forms

    settings = _settings()
    _ensure_db(settings)
    _load_demo_registry(settings)
    forms = generate_forms(count, seed)
    ids = _submit_forms(settings, None, [("demo", f) for f in forms])
    click.echo(json.dumps({"submitted": len(ids)}))
    if wait:
        statuses = _wait_processed(settings, ids, 120)
        counts: dict[str, int] = {}
        for _, st in statuses:
            counts[st] = counts.get(st, 0) + 1
        click.echo(json.dumps({"statuses": counts}))


def _load_demo_if_empty(settings: Settings) -> int:
    from sqlalchemy import func, select

    from safety.db.session import session_scope
    from safety.demo.generator import generate_forms
    from safety.intake.store import Report

    with session_scope(settings.effective_database_url) as session:
        if session.execute(select(func.count(Report.id))).scalar_one():
            return 0
    _load_demo_registry(settings)
    forms = generate_forms()
    return len(_submit_forms(settings, None, [("demo", f) for f in forms]))


def _load_demo_registry(settings: Settings) -> None:
    """The demo studies' products, studies and RSI, so demo cases get real obligations."""
    from sqlalchemy import select

    from safety.db.session import session_scope
    from safety.products.registry import load_registry_json
    from safety.products.rsi import load_rsi_json
    from safety.products.store import RsiVersionRow, save_registry, save_rsi_version

    demo_dir = Path(__file__).resolve().parents[1] / "demo"
    sender = settings.home / "sender.json"
    if not sender.exists():  # a demo organisation, only where none is configured
        sender.write_text((demo_dir / "sender.json").read_text(encoding="utf-8"))
    registry = load_registry_json(demo_dir / "registry.json")
    rsi = load_rsi_json(demo_dir / "rsi.json")
    with session_scope(settings.effective_database_url) as session:
        save_registry(session, registry)
        have = {tuple(r) for r in session.execute(select(
            RsiVersionRow.product_id, RsiVersionRow.reference, RsiVersionRow.version))}
        for version in rsi.versions():
            if (version.product_id, version.reference, version.version) not in have:
                save_rsi_version(session, version)


def _submit_forms(settings: Settings, site_name: str | None,
                  forms: list[tuple[str, dict[str, Any]]]) -> list[uuid.UUID]:
    """Store each form exactly as the API would, then enqueue it after the commit."""
    from safety.accounts.clients import get_or_create_site
    from safety.db.session import session_scope
    from safety.intake.store import Incoming, store_report
    from safety.queue.enqueue import enqueue_report

    ids: list[uuid.UUID] = []
    for _, form in forms:
        raw = json.dumps(form, ensure_ascii=False).encode()
        with session_scope(settings.effective_database_url) as session:
            site_info = form.get("site") or {}
            name = site_name or f"Site {site_info.get('number', 'demo')}"
            s, _ = get_or_create_site(session, name, site_info.get("country"))
            report, _ = store_report(session, Incoming(
                channel="site_form", content_type="application/json", raw=raw, payload=form,
                sender=f"site:{s.id}", sender_case_id=form["sae_id"], site_id=s.id,
            ), None, actor="cli:import")
            ids.append(report.id)
    for rid in ids:
        enqueue_report(settings, rid)
    return ids


def _wait_processed(settings: Settings, ids: list[uuid.UUID], timeout: float
                    ) -> list[tuple[uuid.UUID, str]]:
    from sqlalchemy import select

    from safety.db.session import session_scope
    from safety.intake.store import Report

    deadline = time.monotonic() + timeout
    while True:
        with session_scope(settings.effective_database_url) as session:
            rows = dict(session.execute(
                select(Report.id, Report.status).where(Report.id.in_(ids))
            ).all())
        if all(rows.get(i) in ("processed", "held", "failed") for i in ids):
            return [(i, rows[i]) for i in ids]
        if time.monotonic() > deadline:
            return [(i, rows.get(i, "missing")) for i in ids]
        time.sleep(0.5)


def _ensure_db(settings: Settings) -> None:
    """The embedded SQLite database migrates itself; PostgreSQL is migrated explicitly."""
    if settings.database_url is None:
        from safety.db.migrate import upgrade

        upgrade(settings.effective_database_url)


@main.command()
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="Print the obligations as JSON.")
def obligations(case: str, as_json: bool) -> None:
    """The reporting obligations of CASE (case id, case number or worldwide case id)."""
    from safety.api.obligations import latest_obligations, obligation_json
    from safety.db.session import session_scope

    settings = _settings()
    with session_scope(settings.effective_database_url) as session:
        found = _find_case(session, case)
        rows = [obligation_json(r, found.case_number)
                for r in latest_obligations(session, found.id)]
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    if not rows:
        click.echo(f"{found.case_number}: no obligations")
    for r in rows:
        click.echo(f"{r['due']}  {r['destination']:4s} {r['report_type']:24s} {r['status']}")
        click.echo("    " + r["explanation"].replace("\n", "\n    "))


def _find_case(session: Any, ref: str) -> Any:
    from sqlalchemy import or_, select

    from safety.cases.store import Case

    conditions = [Case.case_number == ref, Case.worldwide_case_id == ref]
    try:
        conditions.append(Case.id == uuid.UUID(ref))
    except ValueError:
        pass
    found = session.scalar(select(Case).where(or_(*conditions)))
    if found is None:
        raise click.ClickException(f"no case {ref!r}")
    return found


def register_feature_commands() -> None:
    """Attach the feature areas' command groups."""
    from safety.cli.e2b import e2b_group
    from safety.cli.products import products
    from safety.cli.rules import rules
    from safety.cli.submissions import ack_group, export_group, submissions_group

    for group in (rules, products, e2b_group, export_group, submissions_group, ack_group):
        main.add_command(group)
    from safety.cli.coding import dictionary_group
    from safety.cli.coding import register as register_coding
    from safety.cli.recode import recode_cmd
    from safety.cli.users import user

    dictionary_group.add_command(recode_cmd)
    register_coding(main)
    main.add_command(user)
    from safety.cli.dedup_db import dedup

    main.add_command(dedup)


register_feature_commands()

if __name__ == "__main__":
    main()

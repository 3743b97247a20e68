"""``safety serve``, ``safety worker`` and ``safety scheduler``: the service's processes.

``serve`` supervises the three on one machine (the embedded Redis shared between them);
production runs each under its own supervisor (``docs/deploy/``).
"""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
import time
from typing import Any

import click

from safety.cli.common import ready_settings, settings
from safety.config import child_env


@click.command()
@click.option("--burst", is_flag=True, help="Process what is queued, then exit.")
@click.option("--with-scheduler/--no-scheduler", default=True, show_default=True,
              help="Also run rq's scheduler for delayed retries.")
def worker(burst: bool, with_scheduler: bool) -> None:
    """Run a worker that processes reports and case stages."""
    from safety.pipeline.worker import run_worker

    run_worker(ready_settings(), burst=burst, with_scheduler=with_scheduler)


@click.command()
def scheduler() -> None:
    """Run the periodic jobs (the sweep that requeues stored but unprocessed reports)."""
    from safety.pipeline.scheduler import run_cron

    run_cron(settings())


def is_loopback(host: str) -> bool:
    """Whether ``host`` (what ``serve --host`` binds) is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Load the demo reports if the database is empty.")
def serve(host: str, port: int, web_workers: int, demo: bool) -> None:
    """Run the web app, a worker and the scheduler together; Ctrl-C stops all three."""
    from safety.pipeline.dispatch import QueueDispatch
    from safety.queue.connection import redis_url, shutdown_embedded

    loaded = ready_settings()
    # The children load these settings from their environment and join the embedded Redis.
    shared = loaded.with_overrides({"redis_url": redis_url(loaded)})
    if shared.secure_cookies is None and is_loopback(host):
        # Plain http on this machine only: a Secure session cookie would never come back.
        shared = shared.with_overrides({"secure_cookies": False})
    env = child_env(shared)
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
        from safety.demo.service import database_is_empty, load_demo

        n = len(load_demo(shared, QueueDispatch(shared))) if database_is_empty(shared) else 0
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

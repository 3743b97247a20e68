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
from dataclasses import dataclass, field
from typing import Any

import click
import structlog

from safety.backoff import Backoff
from safety.cli.common import ready_settings, settings
from safety.config import child_env
from safety.logging import configure_logging

log = structlog.get_logger("safety.serve")

# A child that ran this long before dying is restarted promptly again (its backoff starts over).
HEALTHY_SECONDS = 60.0
STOP_WAIT_SECONDS = 15.0


@dataclass
class Child:
    """One supervised process: its name, its command, and its restart backoff."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: Backoff = field(default_factory=lambda: Backoff(first=1.0, cap=30.0))


class Supervisor:
    """Keeps the children of ``safety serve`` running: a child that dies is logged and
    started again after a capped exponential backoff (reset once it has run a minute), so a
    crash loop does not spin. Production uses systemd for this (``docs/deploy/``)."""

    def __init__(self, children: list[Child], env: dict[str, str]) -> None:
        self.children = children
        self.env = env
        self.stopping = False

    def _spawn(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.argv, env=self.env)
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("serve.child_started", child=child.name, pid=child.proc.pid)

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def check(self) -> None:
        """Notice dead children and restart those whose backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            proc = child.proc
            if proc is None or proc.poll() is None:
                if proc is not None and now - child.started_at > HEALTHY_SECONDS:
                    child.backoff.reset()
                continue
            if child.restart_at is None:
                delay = child.backoff.next_delay()
                child.restart_at = now + delay
                log.warning("serve.child_died", child=child.name, pid=proc.pid,
                            returncode=proc.returncode, restart_in=round(delay, 2))
            elif now >= child.restart_at:
                self._spawn(child)

    def run(self) -> None:
        while not self.stopping:
            self.check()
            time.sleep(0.5)

    def stop(self) -> None:
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        for proc in running:
            try:
                proc.wait(timeout=STOP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()


@click.command()
@click.option("--burst", is_flag=True, help="Process what is queued, then exit.")
@click.option("--with-scheduler/--no-scheduler", default=True, show_default=True,
              help="Also run rq's scheduler for delayed retries.")
def worker(burst: bool, with_scheduler: bool) -> None:
    """Run a worker that processes reports and case stages."""
    from safety.pipeline.worker import restart_process, run_worker

    if run_worker(ready_settings(), burst=burst, with_scheduler=with_scheduler):
        restart_process()


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
@click.option("--web-workers", default=2, show_default=True, type=int,
              help="gunicorn processes (one per core), each with WEB_THREADS threads")
@click.option("--web-threads", default=4, show_default=True, type=int,
              help="threads per gunicorn process: a request waiting for its commit's WAL "
                   "flush leaves the core to another (docs/deploy/README.md)")
@click.option("--demo", is_flag=True, help="Load the demo reports if the database is empty.")
def serve(host: str, port: int, web_workers: int, web_threads: int, demo: bool) -> None:
    """Run the web app, a worker and the scheduler together, restarting any that dies;
    Ctrl-C stops all three."""
    from safety.pipeline.dispatch import QueueDispatch
    from safety.queue.connection import redis_url, shutdown_embedded

    loaded = ready_settings()
    configure_logging(loaded.log_level)
    # The children load these settings from their environment and join the embedded Redis.
    shared = loaded.with_overrides({"redis_url": redis_url(loaded)})
    if shared.secure_cookies is None and is_loopback(host):
        # Plain http on this machine only: a Secure session cookie would never come back.
        shared = shared.with_overrides({"secure_cookies": False})
    env = child_env(shared)
    exe = [sys.executable, "-m", "safety.cli"]
    supervisor = Supervisor([
        Child("web", [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
                      "--workers", str(web_workers), "--worker-class", "gthread",
                      "--threads", str(web_threads), "--access-logfile", "-",
                      "--graceful-timeout", "5", "safety.app:create_app()"]),
        Child("worker", [*exe, "worker"]),
        Child("scheduler", [*exe, "scheduler"]),
    ], env)
    supervisor.start()
    click.echo(f"SafetyDesk on http://{host}:{port}  (API docs: /api/v1/docs; Ctrl-C stops)")
    if demo:
        from safety.demo.service import database_is_empty, load_demo

        n = len(load_demo(shared, QueueDispatch(shared))) if database_is_empty(shared) else 0
        click.echo(f"demo: {n} reports submitted" if n else "demo: database already has data")
        if n:  # demo accounts, passwords printed once
            subprocess.run([*exe, "user", "demo"], env=env, check=False)

    def _stop(*_: Any) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()
        shutdown_embedded()
        click.echo("stopped")

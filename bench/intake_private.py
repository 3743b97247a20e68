"""``intake.py`` on PostgreSQL and Redis servers of its own (``pipeline.py``'s private servers
on free loopback ports, data in a temporary folder), never the machine's shared ones.

    python bench/intake_private.py [intake.py's options, e.g. --clients 8 --floor]
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

# ``tests/pipeline`` is a package of the same name: load the bench by its path.
_spec = importlib.util.spec_from_file_location("bench_pipeline", ROOT / "bench" / "pipeline.py")
assert _spec is not None and _spec.loader is not None
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)


def main() -> None:
    servers = _bench.Servers(None, None)
    try:
        redis = servers.redis_url.rsplit("/", 1)[0] + "/0"
        code = subprocess.call([sys.executable, str(ROOT / "bench" / "intake.py"),
                                "--pg", servers.pg_base, "--redis", redis, *sys.argv[1:]],
                               cwd=ROOT)
    finally:
        servers.close()
    sys.exit(code)


if __name__ == "__main__":
    main()

"""`make scale-check` in the test suite: two web nodes, two workers, two beats behind HAProxy.

The check (scale/check.py) runs as its own process on this test run's database and Redis database and
prints what it verified; it takes about a minute. Without HAProxy (``make scale-deps``) the test is
skipped, except in CI, where it fails.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.testing import child_process_environment, require_service
from scale.processes import ROOT, system_binary

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = (
    "ok  one order",
    "ok  admitted over WebSocket",
    "ok  each tick once",
    "ok  seat map",
    "ok  node A killed",
    "all checks passed",
)


def test_two_nodes_behind_a_balancer_pass_the_scale_check():
    require_service(system_binary("haproxy") is not None, "HAProxy is not installed: run `make scale-deps`.")
    environment = child_process_environment()
    environment["SCALE_DATABASE_URL"] = environment["DATABASE_URL"]
    environment["SCALE_REDIS_URL"] = environment["REDIS_URL"]

    result = subprocess.run(
        [sys.executable, "-m", "scale.check", "--fans", "60", "--timeout", "180"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for line in CHECKS:
        assert f"[scale-check] {line}" in output, output[-6000:]

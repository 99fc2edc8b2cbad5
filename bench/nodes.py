"""Join throughput through the balancer: two web nodes against one, on this one machine (issue 13).

The same wrk load of ``POST /api/queue/join`` (every throttle on, as shipped) goes to HAProxy
(``deploy/haproxy/haproxy.cfg``) in front of one web node, then in front of two; each node is
``python -m ticketing.serve`` with ``--workers`` processes. One node without the balancer is measured
too, for the balancer's own cost. On one machine two nodes share the same cores, so the question is
whether adding nodes loses anything (target ≥ 1.0x), not whether it gains: the gain comes from
more machines.

HAProxy adds itself to ``X-Forwarded-For`` after the benchmark's simulated client proxy, so the nodes
trust two proxies here (``NUM_PROXIES=2``): each simulated fan keeps their own address for throttles.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.common import RESULTS_DIR, Result, bench_environment, log
from bench.joins import http_joins
from bench.servers import _cpu_seconds, _descendants
from scale.processes import Started, Topology, wait_healthy


@dataclass
class Balanced:
    """What bench.joins.http_joins needs of a server: its URL and the CPU of everything behind it."""

    entry: Started
    processes: list[Started]

    @property
    def base_url(self) -> str:
        return self.entry.base_url

    def cpu_seconds(self) -> float:
        pids = [pid for p in self.processes for pid in (p.process.pid, *_descendants(p.process.pid))]
        return sum(_cpu_seconds(pid) for pid in pids)


def _measure(
    *, nodes: int, balanced: bool, workers: int, users: int, seconds: float, connections: int, run: int
) -> Result:
    label = f"{nodes} node{'s' if nodes > 1 else ''} x {workers} workers" + (
        ", through HAProxy" if balanced else ", direct"
    )
    environment = {**bench_environment(), "NUM_PROXIES": "2" if balanced else "1"}
    with Topology(environment, log_dir=RESULTS_DIR / "nodes") as topology:
        web = [topology.web_node(f"web-{index}", workers=workers) for index in range(nodes)]
        for node in web:
            wait_healthy(node.base_url, timeout=90, process=node.process)
        entry = topology.haproxy(web) if balanced else web[0]
        if balanced:
            wait_healthy(entry.base_url, timeout=20, process=entry.process)
        server = Balanced(entry=entry, processes=topology.started)
        log(f"join load: {label} on {entry.base_url}")
        (result,) = http_joins(
            server,  # type: ignore[arg-type]
            users=users,
            seconds=seconds,
            connections=connections,
            label=f"{label}, run {run + 1}",
            user_offset=run * users,
        )
        return result


def join_scaling(*, workers: int, users: int, seconds: float, connections: int) -> list[Result]:
    """One node direct, then one and two nodes through HAProxy in the order one, two, two, one, so a
    machine whose load drifts during the runs weighs on both alike. Each run takes fresh fans."""
    common = {"workers": workers, "users": users, "seconds": seconds, "connections": connections}
    plan = [(1, False), (1, True), (2, True), (2, True), (1, True)]
    results = [
        _measure(nodes=nodes, balanced=balanced, run=run, **common)
        for run, (nodes, balanced) in enumerate(plan)
    ]
    direct, one, two = results[0], [results[1], results[4]], [results[2], results[3]]
    one_rate = sum(r.extra["rate"] for r in one)
    two_rate = sum(r.extra["rate"] for r in two)
    ratio = two_rate / one_rate if one_rate else 0.0
    balancer_cost = one_rate / 2 / direct.extra["rate"] if direct.extra["rate"] else 0.0
    summary = Result(
        "HTTP join: two web nodes vs one, both through HAProxy, one machine",
        "ratio",
        f"{ratio:.2f}x",
        target=">= 1.0x",
        met=ratio >= 1.0,
        detail=(
            f"joins/s summed over two runs each: two nodes {two_rate:,.0f}, one node {one_rate:,.0f}; "
            f"one node through HAProxy / one node direct: {balancer_cost:.2f}x"
        ),
        extra={"ratio": ratio, "balancer_vs_direct": balancer_cost},
    )
    return [*results, summary]

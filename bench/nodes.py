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
    """One node direct, then through HAProxy: one node, two nodes as shipped (``workers`` processes
    each, twice the processes on the same cores) and two nodes of half the processes each (as many
    processes as one node), in the order A B C C B A, so a machine whose load drifts during the runs
    weighs on every side alike. Each run takes fresh fans."""
    half = max(1, workers // 2)
    plan = [(1, False, workers)] + [
        (nodes, True, per_node)
        for nodes, per_node in [(1, workers), (2, workers), (2, half), (2, half), (2, workers), (1, workers)]
    ]
    results = [
        _measure(
            nodes=nodes, balanced=balanced, workers=per_node, users=users, seconds=seconds,
            connections=connections, run=run,
        )
        for run, (nodes, balanced, per_node) in enumerate(plan)
    ]  # fmt: skip

    def rate(indexes: tuple[int, int]) -> float:
        return sum(results[index].extra["rate"] for index in indexes)

    one, two, two_half = rate((1, 6)), rate((2, 5)), rate((3, 4))
    direct = results[0].extra["rate"]
    summaries = []
    for label, other, nodes_workers in (
        ("as shipped", two, f"2 x {workers}"),
        ("same process count", two_half, f"2 x {half}"),
    ):
        ratio = other / one if one else 0.0
        summaries.append(
            Result(
                f"HTTP join: two web nodes ({nodes_workers} workers, {label}) vs one (1 x {workers}), "
                "both through HAProxy, one machine",
                "ratio",
                f"{ratio:.2f}x",
                target=">= 1.0x",
                met=ratio >= 1.0,
                detail=(
                    f"joins/s summed over two runs each: two nodes {other:,.0f}, one node {one:,.0f}; "
                    f"one node through HAProxy / direct: {one / 2 / direct if direct else 0.0:.2f}x"
                ),
                extra={"ratio": ratio},
            )
        )
    return [*results, *summaries]

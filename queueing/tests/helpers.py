from django.db import connection


def in_thread(function):
    """Wrap ``function`` for a worker thread: it closes its own database connection when done."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return run

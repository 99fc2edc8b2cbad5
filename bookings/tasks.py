"""Celery tasks of seat holds and bookings: thin wrappers over the services, run by beat (see settings).

Reads already treat expired holds and bookings as free; these sweeps tidy the rows and push the freed
seats to open seat maps.
"""

from __future__ import annotations

from celery import shared_task

from bookings import services


@shared_task(ignore_result=True)
def release_expired_holds() -> int:
    return services.holds_release_expired()


@shared_task(ignore_result=True)
def expire_bookings() -> int:
    return services.bookings_expire()

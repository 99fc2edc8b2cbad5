"""Celery tasks of payments: thin wrappers over the services, dispatched after commit."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from payments import emails, services


@shared_task(ignore_result=True)
def send_refund(refund_id: int) -> str:
    return services.refund_send(refund_id=refund_id).status


@shared_task(ignore_result=True)
def retry_pending_refunds() -> int:
    # Refunds younger than one interval are still in the hands of the task dispatched at commit.
    return services.refunds_retry_pending(older_than_seconds=settings.PAYMENTS_REFUND_RETRY_SECONDS)


@shared_task(ignore_result=True)
def email_booking_confirmed(booking_id: int) -> None:
    emails.send_booking_confirmed(booking_id=booking_id)


@shared_task(ignore_result=True)
def email_refund(refund_id: int) -> None:
    emails.send_refund_notice(refund_id=refund_id)

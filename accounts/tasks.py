"""Celery tasks of accounts: thin wrappers, dispatched after commit."""

from __future__ import annotations

from celery import shared_task

from accounts import emails


@shared_task(ignore_result=True)
def email_verification_link(user_id: int, link: str) -> None:
    emails.send_verification_link(user_id=user_id, link=link)

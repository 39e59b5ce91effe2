from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(self: Task, *, subject: str, body: str, to: list[str], html: str = "") -> int:
    msg = EmailMultiAlternatives(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
    if html:
        msg.attach_alternative(html, "text/html")
    return msg.send()


@shared_task
def ping(value: str) -> dict[str, object]:
    """Round trip used by health checks and the worker integration test: reads the database."""
    from enterprises.models import Enterprise

    return {"echo": value, "enterprises": Enterprise.objects.count()}

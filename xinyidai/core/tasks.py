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


@shared_task
def ledger_seal() -> int:
    """Chain every pending ledger event (queued after each commit; also a beat catch-up)."""
    from xinyidai.core import ledger

    return ledger.seal()


@shared_task
def ledger_anchor_yesterday() -> dict[str, object]:
    from datetime import timedelta

    from django.utils import timezone

    from xinyidai.core import ledger

    ledger.seal()
    anchor = ledger.anchor_day(timezone.localdate() - timedelta(days=1))
    return {"day": anchor.day.isoformat(), "seq": anchor.seq, "hash": anchor.hash}


@shared_task
def ledger_verify() -> dict[str, object]:
    """Nightly full check; the result is shown on the credit office's ledger page."""
    from xinyidai.core import ledger

    check = ledger.verify_and_record()
    return {"ok": check.ok, "entries": check.entries, "first_bad_seq": check.first_bad_seq}

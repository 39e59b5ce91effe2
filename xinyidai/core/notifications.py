from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from xinyidai.core.tasks import send_email


def queue_message(msg: EmailMessage) -> None:
    """Send an already built message once the current transaction commits."""
    payload: dict[str, Any] = {
        "subject": str(msg.subject),
        "body": str(msg.body),
        "to": list(msg.to),
        "html": next(
            (str(c) for c, mime in getattr(msg, "alternatives", []) if mime == "text/html"), ""
        ),
    }
    transaction.on_commit(lambda: send_email.delay(**payload))


def notify(*, to: list[str], template: str, context: dict[str, object]) -> None:
    """Render `templates/email/<template>_subject.txt` and `_body.txt` and queue the mail."""
    recipients = sorted({addr for addr in to if addr})
    if not recipients:
        return
    subject = render_to_string(f"email/{template}_subject.txt", context).strip()
    body = render_to_string(f"email/{template}_body.txt", context)
    msg = EmailMessage(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    queue_message(msg)

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from xinyidai.core.errors import NotFound
from xinyidai.core.models import Notification, User
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


# ---------------------------------------------------------------------------------------------
# In-app notices (站内通知)
# ---------------------------------------------------------------------------------------------
TITLE_MAX = 200
URL_MAX = 300


F = TypeVar("F", bound=Callable[..., Any])


def in_site_language(func: F) -> F:
    """Compose a notice in the site's language, not the language of whoever caused it (the
    recipients' own preference is not known; a bank browsing in English must not send an
    enterprise English notices)."""

    @wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with translation.override(settings.LANGUAGE_CODE):
            return func(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def notify_users(
    *,
    users: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    email_template: str = "",
    email_context: dict[str, object] | None = None,
) -> None:
    """One in-app notice to each active user (each once), written in the caller's transaction;
    with `email_template`, the same people also get the e-mail of `notify()` after the commit.
    `title` and `body` are stored as given: callers translate them."""
    recipients = list({user.pk: user for user in users if user.is_active}.values())
    if not recipients:
        return
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            user=user,
            kind=kind,
            title=str(title)[:TITLE_MAX],
            body=str(body),
            url=url[:URL_MAX],
            created_at=now,
        )
        for user in recipients
    )
    if email_template:
        notify(
            to=[user.email for user in recipients],
            template=email_template,
            context=email_context or {},
        )


def notifications_of(user: User) -> QuerySet[Notification]:
    """The user's own notices, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_notification_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def safe_notification_url(notification: Notification) -> str:
    """The notice's link if it points inside this site (a relative path), else ""."""
    url = notification.url
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return url
    return ""


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's own notices read (once: the first reading time is kept)."""
    notification = notifications_of(user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound("notification_not_found", _("通知不存在"))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notice of the user read; returns how many."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )

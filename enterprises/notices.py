"""What the enterprise is told about its authorisations: a bank's first read, an end nearing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from enterprises.models import (
    Authorization,
    AuthorizationStatus,
    Enterprise,
    EnterpriseMembership,
)
from xinyidai.core.notifications import notify


def enterprise_admins(enterprise: Enterprise) -> list[str]:
    """Owners and admins: the people who can grant and revoke."""
    return list(
        EnterpriseMembership.objects.filter(
            enterprise=enterprise, role__in=["owner", "admin"], user__is_active=True
        ).values_list("user__email", flat=True)
    )


def notify_first_bank_read(*, bank_id: int, enterprise: Enterprise) -> None:
    from banks.models import Bank

    bank = Bank.objects.get(pk=bank_id)
    notify(
        to=enterprise_admins(enterprise),
        template="authorization_first_read",
        context={
            "enterprise": enterprise,
            "bank": bank,
            "at": timezone.localtime(),
            "site_url": settings.SITE_URL,
        },
    )


def send_expiry_notices(*, now: datetime | None = None) -> int:
    """Tell the enterprise about authorisations ending within the notice period, once each."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.AUTHORIZATION_EXPIRY_NOTICE_DAYS)
    sent = 0
    due = Authorization.objects.filter(
        status=AuthorizationStatus.ACTIVE,
        valid_from__lte=now,
        valid_until__gt=now,
        valid_until__lte=horizon,
        expiry_notice_sent_at__isnull=True,
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            authorization = (
                Authorization.objects.select_for_update(of=("self",))
                .select_related("enterprise", "grantee_bank")
                .filter(pk=pk, expiry_notice_sent_at__isnull=True)
                .first()
            )
            if authorization is None:
                continue
            notify(
                to=enterprise_admins(authorization.enterprise),
                template="authorization_expiring",
                context={
                    "authorization": authorization,
                    "enterprise": authorization.enterprise,
                    "days": max(0, (authorization.valid_until - now).days),
                    "site_url": settings.SITE_URL,
                },
            )
            authorization.expiry_notice_sent_at = now
            authorization.save(update_fields=["expiry_notice_sent_at"])
            sent += 1
    return sent

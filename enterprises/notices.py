"""What the enterprise is told about its authorisations: a bank's first read, an end nearing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from enterprises.models import (
    Authorization,
    AuthorizationStatus,
    Enterprise,
    EnterpriseMembership,
)
from xinyidai.core.models import User
from xinyidai.core.notifications import in_site_language, notify_users


def enterprise_admins(enterprise: Enterprise) -> list[User]:
    """Owners and admins: the people who can grant and revoke."""
    return list(
        User.objects.filter(
            pk__in=EnterpriseMembership.objects.filter(
                enterprise=enterprise, role__in=["owner", "admin"]
            ).values("user_id"),
            is_active=True,
        ).order_by("pk")
    )


@in_site_language
def notify_first_bank_read(*, bank_id: int, enterprise: Enterprise) -> None:
    from banks.models import Bank

    bank = Bank.objects.get(pk=bank_id)
    at = timezone.localtime()
    notify_users(
        users=enterprise_admins(enterprise),
        kind="authorization.first_read",
        title=_("%(bank)s首次查询了贵企业的信用数据") % {"bank": bank.name},
        body=_("%(bank)s于 %(at)s 首次依据贵企业的授权查询了“%(name)s”的信用数据。")
        % {"bank": bank.name, "at": f"{at:%Y-%m-%d %H:%M}", "name": enterprise.name},
        url=reverse("enterprise_access_log"),
        email_template="authorization_first_read",
        email_context={
            "enterprise": enterprise,
            "bank": bank,
            "at": at,
            "site_url": settings.SITE_URL,
        },
    )


@in_site_language
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
            days = max(0, (authorization.valid_until - now).days)
            until = timezone.localtime(authorization.valid_until)
            notify_users(
                users=enterprise_admins(authorization.enterprise),
                kind="authorization.expiring",
                title=_("授权 %(number)s 即将到期") % {"number": authorization.number},
                body=_(
                    "贵企业授予%(grantee)s的数据授权 %(number)s 将于 %(until)s 到期"
                    "（还有 %(days)d 天），如需继续授权请续期。"
                )
                % {
                    "grantee": authorization.grantee_name,
                    "number": authorization.number,
                    "until": f"{until:%Y-%m-%d %H:%M}",
                    "days": days,
                },
                url=reverse("authorization_detail", args=[authorization.pk]),
                email_template="authorization_expiring",
                email_context={
                    "authorization": authorization,
                    "enterprise": authorization.enterprise,
                    "days": days,
                    "site_url": settings.SITE_URL,
                },
            )
            authorization.expiry_notice_sent_at = now
            authorization.save(update_fields=["expiry_notice_sent_at"])
            sent += 1
    return sent

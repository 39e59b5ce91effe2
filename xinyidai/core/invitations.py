"""What invitations to an enterprise and to a bank have in common."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from xinyidai.core.errors import Conflict, DomainError, NotFound
from xinyidai.core.models import InvitationBase, User

InvitationT = TypeVar("InvitationT", bound=InvitationBase)


def default_expiry() -> datetime:
    return timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email:
        raise DomainError("invalid_email", _("请输入有效的电子邮箱地址"))
    return email


def lock_open_invitation(queryset: QuerySet[InvitationT], *, token: str, user: User) -> InvitationT:
    """Lock the invitation behind `token` and check that `user` may accept it now."""
    invitation = queryset.select_for_update(of=("self",)).filter(token=token).first()
    if invitation is None:
        raise NotFound("invitation_not_found", _("邀请链接无效"))
    if invitation.accepted_at is not None:
        raise Conflict("invitation_used", _("该邀请已被接受"))
    if invitation.revoked_at is not None:
        raise Conflict("invitation_revoked", _("该邀请已被撤销"))
    if invitation.expires_at <= timezone.now():
        raise Conflict("invitation_expired", _("该邀请已过期，请联系邀请人重新发送"))
    if invitation.email.lower() != user.email.lower():
        raise DomainError(
            "invitation_email_mismatch",
            _("该邀请发给 %(email)s，请用该邮箱登录后再接受") % {"email": invitation.email},
            status=403,
        )
    return invitation


def mark_accepted(invitation: InvitationBase, *, user: User) -> None:
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])

"""Invitations to apply (邀请申请): a bank that was recommended an enterprise for one of its
products — and may only see a masked summary of it — invites it to apply; the enterprise
accepts (and goes on to the application form, where the authorisation is shown and confirmed)
or declines with a reason. Invitations run out after `MATCH_INVITATION_DAYS` days.

The bank names the enterprise by the opaque `ref` it was shown with the recommendation, never
by a code it could not otherwise know."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from banks.models import LoanProduct
from enterprises.authorization import can_grant
from enterprises.models import Authorization, AuthorizationPurpose, AuthorizationStatus, Enterprise
from enterprises.notices import enterprise_admins
from lending import eligibility
from lending.models import InvitationStatus, LoanApplication, MatchInvitation
from xinyidai.core import moves
from xinyidai.core.errors import Conflict, DomainError, NotFound
from xinyidai.core.errors import PermissionDenied as DomainPermissionDenied
from xinyidai.core.notifications import in_site_language, notify_users
from xinyidai.permissions import bank_membership_of, enterprise_membership_of

REF_SALT = "lending.match-ref"
S = InvitationStatus
# One table of allowed moves: move → (statuses it starts from, status it leads to).
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({S.PENDING}), S.ACCEPTED),
    "decline": (frozenset({S.PENDING}), S.DECLINED),
}


# ---------------------------------------------------------------------------------------------
# The opaque reference a bank sees instead of the enterprise's code
# ---------------------------------------------------------------------------------------------
def enterprise_ref(enterprise_id: int) -> str:
    """A signed, URL-safe token naming one enterprise (stable, not guessable, not reversible
    into a code without the server's key)."""
    return signing.dumps(enterprise_id, salt=REF_SALT, compress=True)


def enterprise_from_ref(ref: str) -> int:
    try:
        value = signing.loads(ref, salt=REF_SALT)
    except signing.BadSignature:
        raise DomainError(
            "invalid_ref", _("推荐对象无效"), detail={"ref": [_("推荐对象无效")]}
        ) from None
    if not isinstance(value, int):
        raise DomainError("invalid_ref", _("推荐对象无效"), detail={"ref": [_("推荐对象无效")]})
    return value


# ---------------------------------------------------------------------------------------------
# Who may be invited
# ---------------------------------------------------------------------------------------------
def opted_in_for(enterprise_id: int, bank_id: int, now: datetime | None = None) -> bool:
    """Whether the enterprise has a `matching` authorisation in force to all banks or to this
    bank (the only enterprises recommended to banks)."""
    now = now or timezone.now()
    return Authorization.objects.filter(
        Q(grantee_bank__isnull=True) | Q(grantee_bank_id=bank_id),
        enterprise_id=enterprise_id,
        purpose=AuthorizationPurpose.MATCHING,
        status=AuthorizationStatus.ACTIVE,
        valid_from__lte=now,
        valid_until__gt=now,
    ).exists()


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.MATCH_INVITATION_DAYS)


@transaction.atomic
def invite(
    *, actor: Any, product_id: int, ref: str, message: str = "", reasons: list[str] | None = None
) -> MatchInvitation:
    """A bank's staff invite an opted-in enterprise that qualifies for one of the bank's listed
    products. One pending invitation per product and enterprise."""
    membership = bank_membership_of(actor)
    product = LoanProduct.objects.select_related("bank", "live_version").filter(pk=product_id)
    found = product.first()
    if membership is None or found is None or found.bank_id != membership.bank_id:
        raise NotFound("product_not_found", _("产品不存在"))
    if not found.listed or found.live_version is None:
        raise Conflict("product_not_listed", _("产品未上架，不能邀请企业申请。"))
    enterprise = Enterprise.objects.filter(pk=enterprise_from_ref(ref)).first()
    now = timezone.now()
    if enterprise is None or not opted_in_for(enterprise.pk, found.bank_id, now):
        # the same answer whether the firm does not exist or has not opted in
        raise NotFound("enterprise_not_recommended", _("该企业未开放融资对接，不能邀请。"))
    result = eligibility.check(eligibility.facts_for(enterprise), found.live_version)
    if not result.ok:
        raise DomainError(
            "not_eligible",
            _("该企业不满足产品准入条件：%(summary)s") % {"summary": result.summary()},
        )
    MatchInvitation.objects.filter(
        product=found, enterprise=enterprise, status=S.PENDING, expires_at__lte=now
    ).update(status=S.EXPIRED)
    try:
        with transaction.atomic():
            invitation = MatchInvitation.objects.create(
                product=found,
                bank_id=found.bank_id,
                enterprise=enterprise,
                invited_by=actor,
                message=message.strip()[:300],
                reasons=[str(r) for r in (reasons or [])][:10],
                created_at=now,
                expires_at=_expiry(now),
            )
    except IntegrityError:
        raise Conflict("already_invited", _("已邀请该企业申请此产品，请等待企业回复。")) from None
    _notify_invited(invitation)
    return invitation


@in_site_language
def _notify_invited(invitation: MatchInvitation) -> None:
    title = _("%(bank)s邀请贵企业申请「%(product)s」") % {
        "bank": invitation.product.bank.name,
        "product": invitation.product.name,
    }
    notify_users(
        users=enterprise_admins(invitation.enterprise),
        kind="match.invited",
        title=title,
        body=invitation.message,
        url=reverse("invitation_list"),
        email_template="application_notice",
        email_context={
            "title": title,
            "body": invitation.message,
            "url": reverse("invitation_list"),
            "site_url": settings.SITE_URL,
        },
    )


# ---------------------------------------------------------------------------------------------
# The enterprise answers
# ---------------------------------------------------------------------------------------------
def _locked(invitation_id: int) -> MatchInvitation:
    invitation = (
        MatchInvitation.objects.select_for_update(of=("self",))
        .select_related("enterprise", "product__bank", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise NotFound("invitation_not_found", _("邀请不存在"))
    return invitation


@transaction.atomic
def respond(*, actor: Any, invitation_id: int, move: str, reason: str = "") -> MatchInvitation:
    """accept or decline (owners and admins of the invited enterprise)."""
    if move not in MOVES:
        raise NotFound("unknown_move", _("未知操作"))
    invitation = _locked(invitation_id)
    if not can_grant(actor, invitation.enterprise):
        raise DomainPermissionDenied(
            "not_enterprise_admin", _("只有企业的所有者或管理员可以回复邀请。")
        )
    now = timezone.now()
    if invitation.status == S.PENDING and invitation.expires_at <= now:
        invitation.status = S.EXPIRED
        invitation.save(update_fields=["status"])
    moves.require(
        MOVES,
        move,
        invitation.status,
        _("邀请状态为「%(status)s」，不能执行该操作。")
        % {"status": invitation.get_status_display()},
    )
    if move == "decline" and not reason.strip():
        raise DomainError(
            "reason_required", _("请填写谢绝原因"), detail={"reason": [_("请填写谢绝原因")]}
        )
    invitation.status = MOVES[move][1]
    invitation.responded_at, invitation.responded_by = now, actor
    invitation.decline_reason = reason.strip()[:300] if move == "decline" else ""
    invitation.save()
    _notify_answer(invitation)
    return invitation


@in_site_language
def _notify_answer(invitation: MatchInvitation) -> None:
    names = {"enterprise": invitation.enterprise.name, "product": invitation.product.name}
    if invitation.status == S.ACCEPTED:
        title = _("%(enterprise)s接受了申请「%(product)s」的邀请") % names
        body = ""
    else:
        title = _("%(enterprise)s谢绝了申请「%(product)s」的邀请") % names
        body = invitation.decline_reason
    notify_users(
        users=[invitation.invited_by],
        kind=f"match.{invitation.status}",
        title=title,
        body=body,
        url=reverse("invitation_list"),
    )


def link_application(application: LoanApplication) -> None:
    """An application to a product the enterprise was invited to closes the invitation."""
    if application.product_version is None:
        return
    MatchInvitation.objects.filter(
        product_id=application.product_version.product_id,
        enterprise_id=application.enterprise_id,
        status__in=[S.PENDING, S.ACCEPTED],
        application__isnull=True,
    ).update(status=S.ACCEPTED, application=application)


def expire(now: datetime | None = None) -> int:
    """Mark pending invitations past their end as expired (the nightly job)."""
    return MatchInvitation.objects.filter(
        status=S.PENDING, expires_at__lte=now or timezone.now()
    ).update(status=S.EXPIRED)


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------
def invitations_visible_to(user: Any) -> QuerySet[MatchInvitation]:
    """The enterprise its invitations; a bank those it sent; the credit office all."""
    from xinyidai.permissions import Role, has_role

    qs = MatchInvitation.objects.select_related("product__bank", "enterprise", "invited_by")
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        return qs
    filters = Q(pk__in=[])
    if em := enterprise_membership_of(user):
        filters |= Q(enterprise_id=em.enterprise_id)
    if bm := bank_membership_of(user):
        filters |= Q(bank_id=bm.bank_id)
    return qs.filter(filters)


def allowed_moves(invitation: MatchInvitation) -> list[str]:
    return moves.allowed(MOVES, invitation.status)

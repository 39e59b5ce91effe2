"""Data-sharing authorisations (授权): grant, renew, revoke, expire; and the letter's terms.

An authorisation lets one bank (or, for matching only, every bank) read an enterprise's data
at one scope for one purpose between two instants. Only an owner or admin of the enterprise
grants, renews or revokes, and grants and renewals need the password (or a TOTP code) again.
Every change is one row in `AuthorizationEvent`, which the ledger chains.
"""

from __future__ import annotations

import calendar
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enterprises.letters import AuthorizationLetter
from enterprises.models import (
    SCOPE_DESCRIPTIONS,
    Authorization,
    AuthorizationEvent,
    AuthorizationEventKind,
    AuthorizationPurpose,
    AuthorizationScope,
    AuthorizationStatus,
    Enterprise,
)
from enterprises.uscc import CHARSET
from lending.matching import authorization_changed
from xinyidai.core import ledger, moves
from xinyidai.core.errors import DomainError, NotFound
from xinyidai.core.errors import PermissionDenied as DomainPermissionDenied
from xinyidai.core.reauth import confirm_identity
from xinyidai.permissions import enterprise_membership_of

# One table of allowed moves: move → (statuses it may start from, status it leads to).
MOVES: dict[str, tuple[frozenset[str], str]] = {
    AuthorizationEventKind.REVOKE: (
        frozenset({AuthorizationStatus.ACTIVE}),
        AuthorizationStatus.REVOKED,
    ),
    AuthorizationEventKind.RENEW: (
        frozenset({AuthorizationStatus.ACTIVE, AuthorizationStatus.EXPIRED}),
        AuthorizationStatus.RENEWED,
    ),
    AuthorizationEventKind.EXPIRE: (
        frozenset({AuthorizationStatus.ACTIVE}),
        AuthorizationStatus.EXPIRED,
    ),
}
CLOCK_SKEW = timedelta(minutes=5)


def allowed_moves(authorization: Authorization) -> list[str]:
    return moves.allowed(MOVES, authorization.status)


def add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def end_of_day(day: date) -> datetime:
    """A date given as "valid until" means through the end of that day, Beijing time."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def _as_instant(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return end_of_day(value)


def can_grant(user: Any, enterprise: Enterprise) -> bool:
    membership = enterprise_membership_of(user)
    return (
        membership is not None
        and membership.enterprise_id == enterprise.pk
        and membership.role in ("owner", "admin")
    )


def _require_granter(user: Any, enterprise: Enterprise) -> None:
    if not can_grant(user, enterprise):
        raise DomainPermissionDenied(
            "not_enterprise_admin", _("只有企业的所有者或管理员可以授权、续期或撤销授权。")
        )


def new_number(today: date | None = None) -> str:
    day = today or timezone.localdate()
    return f"SQ{day:%Y%m%d}-" + "".join(secrets.choice(CHARSET) for _ in range(8))


def terms(authorization: Authorization) -> dict[str, Any]:
    """What the enterprise agreed to; its SM3 digest is printed on the letter and chained."""
    a = authorization
    return {
        "number": a.number,
        "enterprise": {"uscc": a.enterprise.uscc, "name": a.enterprise.name},
        "grantee_bank": (
            {"fi_code": a.grantee_bank.fi_code, "name": a.grantee_bank.name}
            if a.grantee_bank
            else None
        ),
        "scope": a.scope,
        "purpose": a.purpose,
        "valid_from": ledger.iso(a.valid_from),
        "valid_until": ledger.iso(a.valid_until),
        "granted_by": a.granted_by_id,
        "granted_at": ledger.iso(a.granted_at),
        "renewed_from": a.renewed_from.number if a.renewed_from else None,
    }


def terms_digest(authorization: Authorization) -> str:
    return ledger.sm3_hex(ledger.canonical_json(terms(authorization)).encode())


def _validity(
    *, valid_from: datetime | None, valid_until: date | datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    start = valid_from or now
    if start < now - CLOCK_SKEW:
        raise DomainError(
            "valid_from_past",
            _("生效时间不能早于当前时间。"),
            detail={"valid_from": [_("生效时间不能早于当前时间")]},
        )
    start = max(start, now)
    end = _as_instant(valid_until) or add_months(start, settings.AUTHORIZATION_DEFAULT_MONTHS)
    if end <= start:
        raise DomainError(
            "valid_until_before_start",
            _("截止时间必须晚于生效时间。"),
            detail={"valid_until": [_("截止时间必须晚于生效时间")]},
        )
    longest = settings.AUTHORIZATION_MAX_MONTHS
    if end > end_of_day(timezone.localtime(add_months(start, longest)).date()):
        raise DomainError(
            "validity_too_long",
            _("授权有效期最长 %(months)d 个月。") % {"months": longest},
            detail={"valid_until": [_("最长 %(months)d 个月") % {"months": longest}]},
        )
    return start, end


def _event(
    authorization: Authorization,
    *,
    kind: str,
    actor: Any,
    old_status: str,
    reason: str = "",
    at: datetime | None = None,
) -> AuthorizationEvent:
    event = AuthorizationEvent.objects.create(
        authorization=authorization,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        at=at or timezone.now(),
        old_status=old_status,
        new_status=authorization.status,
        reason=reason[:200],
    )
    ledger.seal_soon()
    authorization_changed(authorization)
    return event


@transaction.atomic
def authorization_grant(
    *,
    actor: Any,
    enterprise: Enterprise,
    grantee_bank_id: int | None,
    scope: str,
    purpose: str,
    valid_from: datetime | None = None,
    valid_until: date | datetime | None = None,
    password: str = "",
    otp_code: str = "",
    renewed_from: Authorization | None = None,
    identity_confirmed: bool = False,
) -> Authorization:
    """`identity_confirmed`: the caller already checked the password or code in this request
    (one confirmation for several authorisations, e.g. a financing demand to several banks)."""
    from banks.models import Bank

    _require_granter(actor, enterprise)
    if not identity_confirmed:
        confirm_identity(actor, password=password, otp_code=otp_code)
    if scope not in AuthorizationScope.values:
        raise DomainError("invalid_scope", _("授权范围无效"), detail={"scope": [scope]})
    if purpose not in AuthorizationPurpose.values:
        raise DomainError("invalid_purpose", _("授权用途无效"), detail={"purpose": [purpose]})
    bank = None
    if grantee_bank_id is not None:
        bank = Bank.objects.filter(pk=grantee_bank_id).first()
        if bank is None:
            raise DomainError(
                "bank_not_found", _("被授权银行不存在"), detail={"grantee_bank": [grantee_bank_id]}
            )
    elif purpose != AuthorizationPurpose.MATCHING:
        raise DomainError(
            "all_banks_only_for_matching",
            _("向平台全部银行授权只能用于「融资对接」；其他用途请选择一家银行。"),
            detail={"grantee_bank": [_("请选择银行，或将用途改为融资对接")]},
        )
    now = timezone.now()
    start, end = _validity(valid_from=valid_from, valid_until=valid_until, now=now)
    authorization = Authorization(
        number=new_number(),
        enterprise=enterprise,
        grantee_bank=bank,
        scope=scope,
        purpose=purpose,
        valid_from=start,
        valid_until=end,
        granted_by=actor,
        granted_at=now,
        renewed_from=renewed_from,
    )
    authorization.digest = terms_digest(authorization)
    authorization.save()
    _event(authorization, kind=AuthorizationEventKind.GRANT, actor=actor, old_status="")
    return authorization


def _locked(authorization_id: int) -> Authorization:
    authorization = (
        Authorization.objects.select_for_update(of=("self",))
        .select_related("enterprise", "grantee_bank")
        .filter(pk=authorization_id)
        .first()
    )
    if authorization is None:
        raise NotFound("authorization_not_found", _("授权不存在"))
    return authorization


def _move(
    authorization: Authorization,
    *,
    move: str,
    actor: Any,
    reason: str = "",
    at: datetime | None = None,
) -> Authorization:
    _sources, target = MOVES[move]
    moves.require(
        MOVES,
        move,
        authorization.status,
        _("授权当前状态为「%(status)s」，不能%(move)s。")
        % {
            "status": authorization.get_status_display(),
            "move": AuthorizationEventKind(move).label,
        },
    )
    old = authorization.status
    authorization.status = target
    authorization.ended_at = at or timezone.now()
    authorization.ended_by = actor if actor is not None and actor.is_authenticated else None
    authorization.end_reason = reason[:200]
    authorization.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
    _event(authorization, kind=move, actor=actor, old_status=old, reason=reason, at=at)
    return authorization


@transaction.atomic
def authorization_revoke(*, actor: Any, authorization_id: int, reason: str = "") -> Authorization:
    """Takes effect at once: the next read is refused."""
    authorization = _locked(authorization_id)
    _require_granter(actor, authorization.enterprise)
    return _move(authorization, move=AuthorizationEventKind.REVOKE, actor=actor, reason=reason)


@transaction.atomic
def authorization_withdraw_for(*, authorization_id: int, reason: str) -> Authorization | None:
    """The platform revokes an authorisation the enterprise gave for one purpose that has
    ended (a financing demand another bank accepted, or withdrawn). Recorded as a revocation
    without a person; an authorisation already ended is left as it is."""
    authorization = _locked(authorization_id)
    if authorization.status not in MOVES[AuthorizationEventKind.REVOKE][0]:
        return None
    return _move(authorization, move=AuthorizationEventKind.REVOKE, actor=None, reason=reason)


@transaction.atomic
def authorization_renew(
    *,
    actor: Any,
    authorization_id: int,
    valid_until: date | datetime | None = None,
    password: str = "",
    otp_code: str = "",
) -> Authorization:
    """A new authorisation with the same bank, scope and purpose, in force from now; the old
    one ends as "renewed". Returns the new one."""
    old = _locked(authorization_id)
    _require_granter(actor, old.enterprise)
    if old.status not in MOVES[AuthorizationEventKind.RENEW][0]:
        _move(old, move=AuthorizationEventKind.RENEW, actor=actor)  # raises the 409
    new = authorization_grant(
        actor=actor,
        enterprise=old.enterprise,
        grantee_bank_id=old.grantee_bank_id,
        scope=old.scope,
        purpose=old.purpose,
        valid_until=valid_until,
        password=password,
        otp_code=otp_code,
        renewed_from=old,
    )
    _move(old, move=AuthorizationEventKind.RENEW, actor=actor, reason=new.number)
    return new


def authorizations_expire(*, now: datetime | None = None, chunk: int = 500) -> int:
    """Mark authorisations past their end as expired (the nightly job). Reads stop at the end
    instant regardless; this records the expiry in the history and the ledger. Idempotent."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                Authorization.objects.filter(
                    status=AuthorizationStatus.ACTIVE, valid_until__lte=now
                )
                .order_by("valid_until", "id")
                .values_list("id", flat=True)[:chunk]
            )
            if not ids:
                return done
            for authorization in (
                Authorization.objects.select_for_update(of=("self",))
                .filter(pk__in=ids)
                .order_by("id")
            ):
                if authorization.status == AuthorizationStatus.ACTIVE:
                    _move(
                        authorization,
                        move=AuthorizationEventKind.EXPIRE,
                        actor=None,
                        at=authorization.valid_until,
                    )
                    done += 1


def letter(authorization: Authorization, *, verify_url: str = "") -> AuthorizationLetter:
    a = authorization
    return AuthorizationLetter(
        number=a.number,
        digest=a.digest,
        enterprise_name=a.enterprise.name,
        enterprise_uscc=a.enterprise.uscc,
        grantee_name=a.grantee_name,
        scope=a.scope,
        scope_label=str(a.get_scope_display()),
        scope_description=str(SCOPE_DESCRIPTIONS[a.scope]),
        purpose_label=str(a.get_purpose_display()),
        valid_from=timezone.localtime(a.valid_from),
        valid_until=timezone.localtime(a.valid_until),
        granted_by_name=a.granted_by.get_full_name() or a.granted_by.email,
        granted_at=timezone.localtime(a.granted_at),
        renewed_from_number=a.renewed_from.number if a.renewed_from else "",
        verify_url=verify_url,
    )

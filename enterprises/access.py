"""Who may read an enterprise's data, at which scope, for which purpose — decided in one place.

Every page and endpoint that shows enterprise data starts with `read(request, enterprise,
scope=...)`: it decides, logs the read (user, bank, enterprise, scope, purpose, path, time,
client address) and queues the ledger seal. The data functions behind it (`portrait.py`,
`selectors.py`) call `require(user, enterprise, scope)`, which only passes for a read already
decided in this request, or for the enterprise's own members. So nothing can show a third party
enterprise data without a logged decision.

- The enterprise's own members read everything; their reads of their own data are not logged.
- The credit office (and superusers) read everything but must state a reason; logged.
- Bank staff read under an authorisation of their bank (or of all banks, for matching) that is
  in force now, covers the scope (records ⊃ portrait ⊃ summary) and, when the reader names one,
  the purpose. Refusals say what is missing and link the enterprise to the grant form.
- Everyone else gets "not found", as for an enterprise that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from enterprises.models import (
    SCOPE_LEVEL,
    AccessLog,
    Authorization,
    AuthorizationPurpose,
    AuthorizationScope,
    AuthorizationState,
    AuthorizationStatus,
    BankFirstRead,
    Enterprise,
)
from xinyidai.core import ledger
from xinyidai.core.errors import DomainError, NotFound
from xinyidai.core.errors import PermissionDenied as DomainPermissionDenied
from xinyidai.permissions import (
    Role,
    bank_membership_of,
    enterprise_membership_of,
    has_role,
)

CACHE_ATTR = "_xyd_reads"
SESSION_REASON_KEY = "access_reason:%d"
WIDEST = AuthorizationScope.RECORDS


class ReadDenied(DomainPermissionDenied):
    """403 with what is missing; pages render it with the grant link."""


@dataclass(frozen=True)
class ReadAccess:
    enterprise_id: int
    scope: str  # the widest scope this reader may see now
    via: str  # "member" | "credit_office" | "authorization"
    purpose: str = ""
    reason: str = ""
    authorization_id: int | None = None
    bank_id: int | None = None
    log_id: int | None = field(default=None, compare=False)

    def covers(self, scope: str) -> bool:
        return SCOPE_LEVEL[self.scope] >= SCOPE_LEVEL[scope]

    @property
    def logged(self) -> bool:
        return self.via != "member"

    @property
    def scope_label(self) -> str:
        return str(AuthorizationScope(self.scope).label)

    @property
    def purpose_label(self) -> str:
        return str(AuthorizationPurpose(self.purpose).label) if self.purpose else ""


def _not_found() -> NotFound:
    return NotFound("enterprise_not_found", _("企业不存在或您无权查看"))


def grant_url(*, enterprise: Enterprise, bank_id: int | None, scope: str, purpose: str) -> str:
    """Where the enterprise grants what a bank was refused (prefilled form)."""
    query = {"bank": bank_id or "", "scope": scope, "purpose": purpose}
    return reverse("authorization_create") + "?" + urlencode({k: v for k, v in query.items() if v})


def _local(at: Any) -> str:
    return date_format(timezone.localtime(at), "Y-m-d H:i")


def _explain(
    *, enterprise: Enterprise, bank_id: int, scope: str, purpose: str, now: Any
) -> ReadDenied:
    rows = list(
        Authorization.objects.filter(enterprise=enterprise)
        .filter(Q(grantee_bank_id=bank_id) | Q(grantee_bank__isnull=True))
        .order_by("-granted_at", "-id")[:20]
    )
    scope_label = AuthorizationScope(scope).label
    purpose_label = AuthorizationPurpose(purpose).label if purpose else ""
    in_force = [a for a in rows if a.state(now) == AuthorizationState.ACTIVE]
    if in_force:
        wide_enough = [a for a in in_force if SCOPE_LEVEL[a.scope] >= SCOPE_LEVEL[scope]]
        if wide_enough and purpose:
            held = "、".join(sorted({str(a.get_purpose_display()) for a in wide_enough}))
            reason = _("贵行的有效授权用途为「%(held)s」，不包括「%(purpose)s」。") % {
                "held": held,
                "purpose": purpose_label,
            }
        else:
            held = "、".join(sorted({str(a.get_scope_display()) for a in in_force}))
            reason = _(
                "贵行获得的授权范围为「%(held)s」，读取此内容需要「%(scope)s」或更宽的范围。"
            ) % {
                "held": held,
                "scope": scope_label,
            }
    elif rows:
        latest = rows[0]
        state = latest.state(now)
        if state == AuthorizationState.PENDING:
            reason = _("授权 %(number)s 自 %(at)s 起生效，目前尚未生效。") % {
                "number": latest.number,
                "at": _local(latest.valid_from),
            }
        elif state == AuthorizationState.REVOKED:
            reason = _("授权 %(number)s 已于 %(at)s 被企业撤销。") % {
                "number": latest.number,
                "at": _local(latest.ended_at or now),
            }
        else:
            reason = _("授权 %(number)s 已于 %(at)s 到期。") % {
                "number": latest.number,
                "at": _local(latest.ended_at or latest.valid_until),
            }
    else:
        reason = _("该企业尚未向贵行授权读取其信用数据。")
    url = grant_url(enterprise=enterprise, bank_id=bank_id, scope=scope, purpose=purpose)
    needed = _("需要：范围「%(scope)s」") % {"scope": scope_label}
    if purpose:
        needed += _("，用途「%(purpose)s」") % {"purpose": purpose_label}
    message = reason + needed + _("。请企业在信易贷平台授权：%(url)s") % {"url": url}
    return ReadDenied(
        "authorization_required",
        message,
        detail={
            "enterprise": enterprise.uscc,
            "bank": bank_id,
            "needed": {"scope": scope, "purpose": purpose or None},
            "grant_url": url,
            "authorizations": [
                {
                    "number": a.number,
                    "state": a.state(now),
                    "state_label": str(AuthorizationState(a.state(now)).label),
                    "scope": a.scope,
                    "scope_label": str(a.get_scope_display()),
                    "purpose": a.purpose,
                    "purpose_label": str(a.get_purpose_display()),
                    "valid_from": a.valid_from.isoformat(),
                    "valid_until": a.valid_until.isoformat(),
                }
                for a in rows
            ],
        },
    )


def decide(
    user: Any, enterprise: Enterprise, *, scope: str, purpose: str = "", reason: str = ""
) -> ReadAccess:
    """May `user` read `enterprise` at `scope` (for `purpose`) now? Returns the access with the
    widest scope the reader holds, or raises `ReadDenied` (403) / `NotFound` (404)."""
    if scope not in SCOPE_LEVEL:
        raise ValueError(f"unknown scope {scope!r}")
    if purpose and purpose not in AuthorizationPurpose.values:
        raise DomainError(
            "invalid_purpose",
            _("用途（purpose）无效，可选：%(choices)s")
            % {"choices": ", ".join(AuthorizationPurpose.values)},
            detail={"purpose": [purpose]},
        )
    membership = enterprise_membership_of(user)
    if membership is not None and membership.enterprise_id == enterprise.pk:
        return ReadAccess(enterprise_id=enterprise.pk, scope=WIDEST, via="member")
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        reason = reason.strip()
        if not reason:
            raise ReadDenied(
                "reason_required",
                _("信用办查询企业数据须说明查询事由（reason），每次查询都会记录。"),
                detail={"enterprise": enterprise.uscc},
            )
        return ReadAccess(
            enterprise_id=enterprise.pk, scope=WIDEST, via="credit_office", reason=reason[:200]
        )
    bank_membership = bank_membership_of(user)
    if bank_membership is None:
        raise _not_found()
    bank_id = bank_membership.bank_id
    now = timezone.now()
    candidates = [
        a
        for a in Authorization.objects.filter(
            enterprise=enterprise,
            status=AuthorizationStatus.ACTIVE,
            valid_from__lte=now,
            valid_until__gt=now,
        )
        .filter(Q(grantee_bank_id=bank_id) | Q(grantee_bank__isnull=True))
        # the best grant is chosen below: no ordering, and only the columns read
        .order_by()
        .only("id", "scope", "purpose", "grantee_bank_id", "valid_until")
        if SCOPE_LEVEL[a.scope] >= SCOPE_LEVEL[scope] and (not purpose or a.purpose == purpose)
    ]
    if not candidates:
        raise _explain(
            enterprise=enterprise, bank_id=bank_id, scope=scope, purpose=purpose, now=now
        )
    # Prefer the bank's own grant, then the widest scope, then the one lasting longest.
    best = max(
        candidates,
        key=lambda a: (a.grantee_bank_id is not None, SCOPE_LEVEL[a.scope], a.valid_until, a.pk),
    )
    return ReadAccess(
        enterprise_id=enterprise.pk,
        scope=best.scope,
        via="authorization",
        purpose=best.purpose,
        authorization_id=best.pk,
        bank_id=bank_id,
    )


def _role_label(user: Any, access: ReadAccess) -> str:
    if access.via == "credit_office":
        return Role.CREDIT_OFFICE if has_role(user, Role.CREDIT_OFFICE) else Role.SUPERUSER
    membership = bank_membership_of(user)
    return f"bank_{membership.role}" if membership else ""


def client_ip(request: Any) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _param(request: Any, name: str) -> str:
    value = request.GET.get(name) or request.headers.get(f"X-Access-{name.title()}") or ""
    return unquote(value).strip()


def session_reason(request: Any, enterprise: Enterprise) -> str:
    session = getattr(request, "session", None)
    stored = session.get(SESSION_REASON_KEY % enterprise.pk) if session is not None else None
    if not stored or stored.get("until", 0) < timezone.now().timestamp():
        return ""
    return str(stored.get("reason", ""))


def remember_reason(request: Any, enterprise: Enterprise, reason: str) -> None:
    """A reason given on a page covers that enterprise's pages for ACCESS_REASON_MINUTES."""
    until = timezone.now().timestamp() + settings.ACCESS_REASON_MINUTES * 60
    request.session[SESSION_REASON_KEY % enterprise.pk] = {"reason": reason[:200], "until": until}


def record(
    *, user: Any, enterprise: Enterprise, access: ReadAccess, scope: str, path: str, ip: str | None
) -> ReadAccess:
    """Log a decided read of a third party and ask for the ledger seal after the commit."""
    if not access.logged:
        return access
    log = AccessLog.objects.create(
        user=user,
        role=_role_label(user, access),
        bank_id=access.bank_id,
        enterprise=enterprise,
        scope=scope,
        purpose=access.purpose,
        reason=access.reason,
        authorization_id=access.authorization_id,
        path=path[:300],
        client_ip=ip,
    )
    if access.bank_id is not None:
        _first_read(bank_id=access.bank_id, enterprise=enterprise)
    ledger.seal_soon()
    return ReadAccess(**{**access.__dict__, "log_id": log.pk})


# (bank, enterprise) pairs whose first-read row is committed, per process: the row is never
# deleted while access-log rows (PROTECT) refer to both, so asking again is wasted work on
# every read. Filled only after the commit, so a rolled-back first read is asked again.
_FIRST_READS_KNOWN: set[tuple[int, int]] = set()
_FIRST_READS_KNOWN_MAX = 200_000


def forget_first_reads() -> None:
    _FIRST_READS_KNOWN.clear()


def _first_read(*, bank_id: int, enterprise: Enterprise) -> None:
    key = (bank_id, enterprise.pk)
    if key in _FIRST_READS_KNOWN:
        return

    def known() -> None:
        if len(_FIRST_READS_KNOWN) >= _FIRST_READS_KNOWN_MAX:
            _FIRST_READS_KNOWN.clear()
        _FIRST_READS_KNOWN.add(key)

    transaction.on_commit(known)
    if BankFirstRead.objects.filter(bank_id=bank_id, enterprise=enterprise).exists():
        return
    try:
        with transaction.atomic():
            BankFirstRead.objects.create(bank_id=bank_id, enterprise=enterprise)
    except IntegrityError:  # a concurrent first read won the race and sends the notice
        return
    from enterprises.notices import notify_first_bank_read

    notify_first_bank_read(bank_id=bank_id, enterprise=enterprise)


def read(request: Any, enterprise: Enterprise, *, scope: str, page: bool = False) -> ReadAccess:
    """Decide and log one read for a page or endpoint; the data functions then accept it.

    The purpose comes from `?purpose=` or the `X-Access-Purpose` header, the credit office's
    reason from `?reason=`, `X-Access-Reason` (percent-encoded) or a reason given on a page.
    An endpoint's read is logged at the scope it serves; a page's at the widest scope the
    reader holds, since the page shows every section that scope allows."""
    user = request.user
    reason = _param(request, "reason") or session_reason(request, enterprise)
    access = decide(
        user, enterprise, scope=scope, purpose=_param(request, "purpose"), reason=reason
    )
    access = record(
        user=user,
        enterprise=enterprise,
        access=access,
        scope=access.scope if page else scope,
        path=request.get_full_path(),
        ip=client_ip(request),
    )
    reads: dict[int, ReadAccess] = getattr(user, CACHE_ATTR, None) or {}
    reads[enterprise.pk] = access
    setattr(user, CACHE_ATTR, reads)
    return access


def require(user: Any, enterprise: Enterprise, scope: str) -> ReadAccess:
    """For the data functions: pass a read decided (and logged) earlier in this request, or
    the enterprise's own members; refuse anything else."""
    reads: dict[int, ReadAccess] = getattr(user, CACHE_ATTR, None) or {}
    access = reads.get(enterprise.pk)
    if access is not None and access.covers(scope):
        return access
    membership = enterprise_membership_of(user)
    if membership is not None and membership.enterprise_id == enterprise.pk:
        return ReadAccess(enterprise_id=enterprise.pk, scope=WIDEST, via="member")
    raise (
        _not_found()
        if access is None
        else ReadDenied(
            "scope_insufficient",
            _("授权范围不足以读取此内容。"),
            detail={"needed": {"scope": scope}, "held": access.scope},
        )
    )


def forget(user: Any) -> None:
    if hasattr(user, CACHE_ATTR):
        delattr(user, CACHE_ATTR)

from __future__ import annotations

import unicodedata
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enterprises import reference, resident_id, uscc
from enterprises.graph import bump_graph_version
from enterprises.importing.writer import link_orphan_records
from enterprises.models import (
    ClaimStatus,
    Enterprise,
    EnterpriseClaim,
    EnterpriseInvitation,
    EnterpriseMembership,
    EnterpriseRole,
    EnterpriseStatus,
    ImportBatch,
)
from enterprises.persons import link_legal_representatives
from enterprises.scoring import records_changed
from enterprises.tasks import import_credit_file
from xinyidai.core.audit import audit
from xinyidai.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from xinyidai.core.invitations import (
    default_expiry,
    lock_open_invitation,
    mark_accepted,
    normalise_email,
)
from xinyidai.core.models import PlatformRole, User
from xinyidai.core.notifications import notify
from xinyidai.permissions import (
    bank_membership_of,
    can_decide_claims,
    can_import_records,
    can_manage_enterprise_members,
    enterprise_membership_of,
    forget_roles,
)

CLAIM_ATTEMPTS_PER_HOUR = 10


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
def validated_uscc(raw: str) -> str:
    """Return the normalised USCC or raise a DomainError listing what is wrong with it."""
    result = uscc.check(raw)
    if not result.valid or result.normalized is None:
        raise DomainError(
            "invalid_uscc",
            "；".join(p.message for p in result.errors),
            detail={"uscc": [p.as_dict() for p in result.errors]},
        )
    return result.normalized


def enterprise_create(
    *,
    actor: User | None,
    uscc_code: str,
    name: str,
    town: str = "",
    industry_division: str = "",
    industry_section: str = "",
    scale: str = "",
    registered_capital: Decimal | None = None,
    established_date: date | None = None,
    status: str = EnterpriseStatus.ACTIVE,
    legal_rep_name: str = "",
    legal_rep_id: str = "",
    address: str = "",
    phone: str = "",
) -> Enterprise:
    code = validated_uscc(uscc_code)
    if Enterprise.objects.filter(uscc=code).exists():
        raise Conflict("duplicate_uscc", _("统一社会信用代码 %(code)s 已登记") % {"code": code})
    if industry_division and not industry_section:
        industry_section = reference.section_of_division(industry_division)
    if legal_rep_id:
        try:
            legal_rep_id = resident_id.validate(legal_rep_id)
        except ValueError as exc:
            raise DomainError(
                "invalid_resident_id", str(exc), detail={"legal_rep_id": [str(exc)]}
            ) from exc
    enterprise = Enterprise(
        uscc=code,
        name=name.strip(),
        region_code=code[2:8],
        town=town,
        industry_section=industry_section,
        industry_division=industry_division,
        scale=scale,
        registered_capital=registered_capital,
        established_date=established_date,
        status=status,
        legal_rep_name=legal_rep_name.strip(),
        legal_rep_id=legal_rep_id,
        address=address,
        phone=phone,
    )
    try:
        enterprise.full_clean(exclude=["uscc"])
    except ValidationError as exc:
        raise DomainError("invalid", _("企业信息有误"), detail=exc.message_dict) from exc
    with transaction.atomic():
        enterprise.save()
        link_orphan_records([code])
        records_changed({enterprise.pk})
        if legal_rep_id:
            link_legal_representatives([(enterprise.pk, legal_rep_id, enterprise.legal_rep_name)])
        transaction.on_commit(bump_graph_version)
        audit(actor=actor, action="enterprise.created", obj=enterprise, data={"uscc": code})
    return enterprise


# ---------------------------------------------------------------------------------------------
# Claims (企业认领)
# ---------------------------------------------------------------------------------------------
CLAIM_MOVES: dict[str, set[str]] = {
    ClaimStatus.PENDING: {
        ClaimStatus.APPROVED,
        ClaimStatus.REJECTED,
        ClaimStatus.WITHDRAWN,
        ClaimStatus.DISPUTED,
    },
    ClaimStatus.DISPUTED: {ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN},
    ClaimStatus.APPROVED: set(),
    ClaimStatus.REJECTED: set(),
    ClaimStatus.WITHDRAWN: set(),
}


def _claim_move(claim: EnterpriseClaim, new: str, *, actor: User | None, reason: str = "") -> None:
    old = claim.status
    if new not in CLAIM_MOVES[old]:
        raise Conflict(
            "claim_bad_transition",
            _("认领申请当前状态为“%(status)s”，不能执行此操作")
            % {"status": claim.get_status_display()},
            detail={"status": old, "allowed": sorted(CLAIM_MOVES[old])},
        )
    claim.status = new
    fields = ["status"]
    if new in (ClaimStatus.APPROVED, ClaimStatus.REJECTED):
        claim.decided_by = actor
        claim.decided_at = timezone.now()
        claim.decision_reason = reason
        fields += ["decided_by", "decided_at", "decision_reason"]
    claim.save(update_fields=fields)
    audit(
        actor=actor,
        action=f"claim.{new}",
        obj=claim,
        data={"from": old, "to": new, "reason": reason, "enterprise": claim.enterprise.uscc},
    )


def _same_text(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s or "").split()).casefold()

    return norm(a) == norm(b)


def _credit_office_emails() -> list[str]:
    emails = list(
        User.objects.filter(platform_role=PlatformRole.CREDIT_OFFICE, is_active=True).values_list(
            "email", flat=True
        )
    )
    return [*emails, settings.CREDIT_OFFICE_EMAIL]


def _check_claim_rate(user: User) -> None:
    key = f"claim-attempts:{user.pk}"
    cache.add(key, 0, timeout=3600)
    try:
        attempts = cache.incr(key)
    except ValueError:
        attempts = 1
        cache.set(key, 1, timeout=3600)
    if attempts > CLAIM_ATTEMPTS_PER_HOUR:
        raise DomainError(
            "claim_rate_limited",
            _("认领尝试次数过多，请一小时后再试"),
            status=429,
        )


def claim_submit(*, user: User, uscc_code: str, name: str, legal_rep_name: str) -> EnterpriseClaim:
    """Ask to become the owner of an enterprise, proving it by its registry facts."""
    membership = enterprise_membership_of(user)
    if membership is not None:
        raise Conflict(
            "already_member",
            _("您的账号已属于企业“%(name)s”，一个账号只能属于一家企业")
            % {"name": membership.enterprise.name},
        )
    if bank_membership_of(user) is not None or user.platform_role:
        raise DomainError(
            "role_cannot_claim",
            _("银行及政府工作人员账号不能认领企业，请使用企业人员账号"),
            status=403,
        )
    code = validated_uscc(uscc_code)
    _check_claim_rate(user)
    if not name.strip() or not legal_rep_name.strip():
        raise DomainError("required", _("请填写企业名称和法定代表人姓名"))
    with transaction.atomic():
        enterprise = Enterprise.objects.select_for_update().filter(uscc=code).first()
        if enterprise is None:
            raise NotFound(
                "enterprise_not_found",
                _("登记库中没有统一社会信用代码为 %(code)s 的企业，请核对后重试") % {"code": code},
            )
        mismatched = [
            field
            for field, given, actual in (
                ("name", name, enterprise.name),
                ("legal_rep_name", legal_rep_name, enterprise.legal_rep_name),
            )
            if not _same_text(given, actual)
        ]
        if mismatched:
            labels = {"name": _("企业名称"), "legal_rep_name": _("法定代表人姓名")}
            raise DomainError(
                "claim_mismatch",
                _("%(fields)s与登记信息不一致，请核对营业执照后重试")
                % {"fields": _("、").join(str(labels[f]) for f in mismatched)},
                detail={"fields": mismatched},
            )
        if enterprise.status != EnterpriseStatus.ACTIVE:
            raise DomainError(
                "enterprise_inactive",
                _("该企业登记状态为“%(status)s”，不能认领")
                % {"status": enterprise.get_status_display()},
            )
        if EnterpriseClaim.objects.filter(
            user=user, enterprise=enterprise, status__in=[ClaimStatus.PENDING, ClaimStatus.DISPUTED]
        ).exists():
            raise Conflict("duplicate_claim", _("您已提交过该企业的认领申请，请等待审核"))
        owner = (
            EnterpriseMembership.objects.filter(enterprise=enterprise, role=EnterpriseRole.OWNER)
            .select_related("user")
            .first()
        )
        claim = EnterpriseClaim.objects.create(
            user=user,
            enterprise=enterprise,
            submitted_name=name.strip(),
            submitted_legal_rep_name=legal_rep_name.strip(),
            status=ClaimStatus.DISPUTED if owner else ClaimStatus.PENDING,
            previous_owner=owner.user if owner else None,
        )
        audit(
            actor=user,
            action="claim.submitted",
            obj=claim,
            data={"enterprise": code, "status": claim.status},
        )
        if owner is None and settings.CLAIM_AUTO_APPROVE:
            _approve_locked(claim, actor=None, reason=_("信息与登记库一致，自动通过"))
        else:
            notify(
                to=_credit_office_emails(),
                template="claim_submitted",
                context={"claim": claim, "enterprise": enterprise},
            )
    return claim


def _approve_locked(claim: EnterpriseClaim, *, actor: User | None, reason: str) -> None:
    enterprise = claim.enterprise
    if EnterpriseMembership.objects.filter(user=claim.user).exclude(enterprise=enterprise).exists():
        raise Conflict("applicant_has_enterprise", _("申请人已属于其他企业，不能再认领"))
    owner = EnterpriseMembership.objects.filter(
        enterprise=enterprise, role=EnterpriseRole.OWNER
    ).first()
    if owner is not None and owner.user_id != claim.user_id:
        if claim.status != ClaimStatus.DISPUTED:
            raise Conflict(
                "enterprise_has_owner",
                _("该企业已有所有者，此申请须按争议处理"),
            )
        audit(
            actor=actor,
            action="membership.removed",
            obj=owner,
            data={"user": owner.user.email, "role": owner.role, "reason": "claim dispute"},
        )
        owner.delete()
        forget_roles(owner.user)
    EnterpriseMembership.objects.filter(user=claim.user, enterprise=enterprise).delete()
    membership = EnterpriseMembership.objects.create(
        user=claim.user, enterprise=enterprise, role=EnterpriseRole.OWNER
    )
    forget_roles(claim.user)
    _claim_move(claim, ClaimStatus.APPROVED, actor=actor, reason=reason)
    audit(
        actor=actor,
        action="membership.created",
        obj=membership,
        data={"user": claim.user.email, "role": "owner", "claim": claim.pk},
    )
    # Other open claims on this enterprise now contest an owner: they become disputes.
    for other in (
        EnterpriseClaim.objects.select_for_update()
        .filter(enterprise=enterprise, status=ClaimStatus.PENDING)
        .exclude(pk=claim.pk)
    ):
        other.previous_owner = claim.user
        other.save(update_fields=["previous_owner"])
        _claim_move(other, ClaimStatus.DISPUTED, actor=actor, reason=_("企业已有所有者"))
    notify(
        to=[claim.user.email],
        template="claim_decided",
        context={"claim": claim, "enterprise": enterprise},
    )


def _lock_claim(claim_id: int) -> EnterpriseClaim:
    claim = (
        EnterpriseClaim.objects.select_for_update()
        .select_related("enterprise", "user")
        .filter(pk=claim_id)
        .first()
    )
    if claim is None:
        raise NotFound("claim_not_found", _("认领申请不存在"))
    return claim


def claim_approve(*, claim_id: int, actor: User, reason: str = "") -> EnterpriseClaim:
    if not can_decide_claims(actor):
        raise PermissionDenied("forbidden", _("只有信用办工作人员可以审核认领申请"))
    with transaction.atomic():
        claim = _lock_claim(claim_id)
        Enterprise.objects.select_for_update().filter(pk=claim.enterprise_id).first()
        if not claim.is_open:
            _claim_move(claim, ClaimStatus.APPROVED, actor=actor)  # raises with allowed moves
        _approve_locked(claim, actor=actor, reason=reason.strip())
    return claim


def claim_reject(*, claim_id: int, actor: User, reason: str) -> EnterpriseClaim:
    if not can_decide_claims(actor):
        raise PermissionDenied("forbidden", _("只有信用办工作人员可以审核认领申请"))
    if not reason.strip():
        raise DomainError("reason_required", _("驳回时请填写理由"), detail={"reason": ["required"]})
    with transaction.atomic():
        claim = _lock_claim(claim_id)
        _claim_move(claim, ClaimStatus.REJECTED, actor=actor, reason=reason.strip())
        notify(
            to=[claim.user.email],
            template="claim_decided",
            context={"claim": claim, "enterprise": claim.enterprise},
        )
    return claim


def claim_withdraw(*, claim_id: int, user: User) -> EnterpriseClaim:
    with transaction.atomic():
        claim = _lock_claim(claim_id)
        if claim.user_id != user.pk:
            raise NotFound("claim_not_found", _("认领申请不存在"))
        _claim_move(claim, ClaimStatus.WITHDRAWN, actor=user)
    return claim


# ---------------------------------------------------------------------------------------------
# Members and invitations
# ---------------------------------------------------------------------------------------------
def enterprise_invitation_create(
    *, actor: User, enterprise: Enterprise, email: str, role: str, accept_url_base: str
) -> EnterpriseInvitation:
    if not can_manage_enterprise_members(actor, enterprise):
        raise PermissionDenied("forbidden", _("只有企业所有者可以邀请成员"))
    if role not in (EnterpriseRole.ADMIN, EnterpriseRole.MEMBER):
        raise DomainError("invalid_role", _("角色只能是管理员或成员"), detail={"role": [role]})
    address = normalise_email(email)
    if EnterpriseMembership.objects.filter(user__email__iexact=address).exists():
        raise Conflict("already_member", _("%(email)s 已属于某家企业") % {"email": address})
    with transaction.atomic():
        invitation = EnterpriseInvitation.objects.create(
            enterprise=enterprise,
            email=address,
            role=role,
            invited_by=actor,
            expires_at=default_expiry(),
        )
        audit(
            actor=actor,
            action="invitation.created",
            obj=invitation,
            data={"email": address, "role": role, "enterprise": enterprise.uscc},
        )
        notify(
            to=[address],
            template="invitation",
            context={
                "organisation": enterprise.name,
                "role": invitation.get_role_display(),
                "url": f"{accept_url_base}{invitation.token}/",
                "expires_at": invitation.expires_at,
            },
        )
    return invitation


def enterprise_invitation_accept(*, token: str, user: User) -> EnterpriseMembership:
    with transaction.atomic():
        invitation = lock_open_invitation(
            EnterpriseInvitation.objects.select_related("enterprise"), token=token, user=user
        )
        if enterprise_membership_of(user) is not None:
            raise Conflict("already_member", _("您的账号已属于一家企业"))
        if bank_membership_of(user) is not None or user.platform_role:
            raise DomainError(
                "role_cannot_join", _("银行及政府工作人员账号不能加入企业"), status=403
            )
        membership = EnterpriseMembership.objects.create(
            user=user, enterprise=invitation.enterprise, role=invitation.role
        )
        mark_accepted(invitation, user=user)
        forget_roles(user)
        audit(
            actor=user,
            action="membership.created",
            obj=membership,
            data={"user": user.email, "role": invitation.role, "invitation": invitation.pk},
        )
    return membership


def enterprise_member_remove(*, actor: User, membership_id: int) -> None:
    with transaction.atomic():
        membership = (
            EnterpriseMembership.objects.select_for_update()
            .select_related("enterprise", "user")
            .filter(pk=membership_id)
            .first()
        )
        if membership is None or not can_manage_enterprise_members(actor, membership.enterprise):
            raise NotFound("member_not_found", _("成员不存在"))
        if membership.role == EnterpriseRole.OWNER:
            raise Conflict("owner_cannot_be_removed", _("企业所有者不能被移除"))
        audit(
            actor=actor,
            action="membership.removed",
            obj=membership,
            data={"user": membership.user.email, "role": membership.role},
        )
        membership.delete()


# ---------------------------------------------------------------------------------------------
# Credit-record files uploaded by the credit office
# ---------------------------------------------------------------------------------------------
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".jsonl", ".ndjson")


def credit_file_upload(
    *, actor: User, uploaded: UploadedFile, source_department: str = ""
) -> ImportBatch:
    """Keep the file and queue its import; the batch shows progress and the rejected rows."""
    if not can_import_records(actor):
        raise PermissionDenied("forbidden", _("只有信用办工作人员可以导入信用记录"))
    name = Path(uploaded.name or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise DomainError(
            "unsupported_file",
            _("不支持的文件类型“%(suffix)s”，请上传 CSV、XLSX 或 JSON Lines 文件")
            % {"suffix": suffix or name},
            detail={"file": [suffix]},
        )
    if uploaded.size is not None and uploaded.size > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise DomainError(
            "file_too_large",
            _("文件超过 %(mb)d MB，请拆分后上传或使用命令行导入")
            % {"mb": settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)},
            detail={"file": [uploaded.size]},
        )
    folder = Path(settings.IMPORT_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    with path.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            source_department=source_department.strip()[:100],
            channel="file",
            file_name=name[:300],
            actor=actor,
            state="pending",
        )
        audit(actor=actor, action="import.uploaded", obj=batch, data={"file": name})
        transaction.on_commit(lambda: import_credit_file.delay(batch_id=batch.pk, path=str(path)))
    return batch

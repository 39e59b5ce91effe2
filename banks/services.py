from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from banks.models import Bank, BankInvitation, BankMembership, BankRole, Branch
from enterprises.services import validated_uscc
from xinyidai.core.audit import audit
from xinyidai.core.errors import Conflict, DomainError, PermissionDenied
from xinyidai.core.invitations import (
    default_expiry,
    lock_open_invitation,
    mark_accepted,
    normalise_email,
)
from xinyidai.core.models import User
from xinyidai.core.notifications import notify
from xinyidai.permissions import (
    bank_membership_of,
    can_manage_bank,
    can_register_banks,
    enterprise_membership_of,
    forget_roles,
)

# 金融机构编码 (JR/T 0124): 14 characters, a letter for the institution class then digits/letters.
FI_CODE = re.compile(r"^[A-Z][0-9A-Z]{13}$")


def bank_create(
    *,
    actor: User,
    name: str,
    fi_code: str,
    uscc_code: str,
    admin_email: str = "",
    accept_url_base: str = "",
) -> Bank:
    """Register a bank and, when `admin_email` is given, invite its first admin — both or
    neither."""
    if not can_register_banks(actor):
        raise PermissionDenied("forbidden", _("只有信用办工作人员可以登记银行"))
    name = name.strip()
    if not name:
        raise DomainError("required", _("请填写机构名称"), detail={"name": ["required"]})
    fi_code = fi_code.strip().upper()
    if not FI_CODE.match(fi_code):
        raise DomainError(
            "invalid_fi_code",
            _("金融机构编码应为14位：首位为字母，其余为数字或大写字母"),
            detail={"fi_code": [fi_code]},
        )
    code = validated_uscc(uscc_code)
    try:
        with transaction.atomic():
            bank = Bank.objects.create(name=name, fi_code=fi_code, uscc=code)
            audit(actor=actor, action="bank.created", obj=bank, data={"name": name})
            if admin_email:
                bank_invitation_create(
                    actor=actor,
                    bank=bank,
                    email=admin_email,
                    role=BankRole.ADMIN,
                    accept_url_base=accept_url_base,
                )
    except IntegrityError as exc:
        raise Conflict(
            "duplicate_bank", _("同名、同金融机构编码或同统一社会信用代码的银行已登记")
        ) from exc
    return bank


def branch_create(
    *, actor: User, bank: Bank, name: str, town: str = "", address: str = ""
) -> Branch:
    if not (can_manage_bank(actor, bank) or can_register_banks(actor)):
        raise PermissionDenied("forbidden", _("只有本行管理员可以设置网点"))
    if not name.strip():
        raise DomainError("required", _("请填写网点名称"), detail={"name": ["required"]})
    try:
        with transaction.atomic():
            branch = Branch.objects.create(bank=bank, name=name.strip(), town=town, address=address)
            audit(actor=actor, action="branch.created", obj=branch, data={"name": branch.name})
    except IntegrityError as exc:
        raise Conflict("duplicate_branch", _("本行已有同名网点")) from exc
    return branch


def bank_invitation_create(
    *,
    actor: User,
    bank: Bank,
    email: str,
    role: str = BankRole.OFFICER,
    branch: Branch | None = None,
    accept_url_base: str,
) -> BankInvitation:
    """Bank admins invite officers (and fellow admins); the credit office invites a bank's first
    admin."""
    if not (can_manage_bank(actor, bank) or can_register_banks(actor)):
        raise PermissionDenied("forbidden", _("只有本行管理员可以邀请人员"))
    if role not in BankRole.values:
        raise DomainError(
            "invalid_role", _("角色只能是银行管理员或客户经理"), detail={"role": [role]}
        )
    if branch is not None and branch.bank_id != bank.pk:
        raise DomainError("invalid_branch", _("网点不属于本行"), detail={"branch": [branch.pk]})
    address = normalise_email(email)
    if BankMembership.objects.filter(user__email__iexact=address).exists():
        raise Conflict("already_member", _("%(email)s 已属于某家银行") % {"email": address})
    with transaction.atomic():
        invitation = BankInvitation.objects.create(
            bank=bank,
            branch=branch,
            email=address,
            role=role,
            invited_by=actor,
            expires_at=default_expiry(),
        )
        audit(
            actor=actor,
            action="invitation.created",
            obj=invitation,
            data={"email": address, "role": role, "bank": bank.pk},
        )
        notify(
            to=[address],
            template="invitation",
            context={
                "organisation": bank.name,
                "role": invitation.get_role_display(),
                "url": f"{accept_url_base}{invitation.token}/",
                "expires_at": invitation.expires_at,
            },
        )
    return invitation


def bank_invitation_accept(*, token: str, user: User) -> BankMembership:
    with transaction.atomic():
        invitation = lock_open_invitation(
            BankInvitation.objects.select_related("bank", "branch"), token=token, user=user
        )
        if bank_membership_of(user) is not None:
            raise Conflict("already_member", _("您的账号已属于一家银行"))
        if enterprise_membership_of(user) is not None or user.platform_role:
            raise DomainError(
                "role_cannot_join",
                _("企业或政府工作人员账号不能加入银行，请使用单独的账号"),
                status=403,
            )
        membership = BankMembership.objects.create(
            user=user, bank=invitation.bank, branch=invitation.branch, role=invitation.role
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

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enterprises import reference
from enterprises.models import USCC_SHAPE, validate_uscc
from xinyidai.core.models import InvitationBase


class Bank(models.Model):
    name = models.CharField(_("机构名称"), max_length=200, unique=True)
    fi_code = models.CharField(_("金融机构编码"), max_length=14, unique=True)
    uscc = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc]
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("银行")
        verbose_name_plural = _("银行")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(uscc__regex=USCC_SHAPE), name="bank_uscc_shape")
        ]

    def __str__(self) -> str:
        return self.name


class Branch(models.Model):
    bank = models.ForeignKey(
        Bank, on_delete=models.CASCADE, related_name="branches", verbose_name=_("银行")
    )
    name = models.CharField(_("网点名称"), max_length=200)
    town = models.CharField(
        _("镇街/园区"), max_length=32, choices=reference.TOWN_CHOICES, blank=True
    )
    address = models.CharField(_("地址"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("支行/网点")
        verbose_name_plural = _("支行/网点")
        ordering = ["bank", "name"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "name"], name="branch_unique_name_per_bank")
        ]

    def __str__(self) -> str:
        return f"{self.bank.name} {self.name}"


class BankRole(models.TextChoices):
    ADMIN = "admin", _("银行管理员")
    OFFICER = "officer", _("客户经理")


class BankMembership(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="bank_membership",
        verbose_name=_("用户"),
    )
    bank = models.ForeignKey(
        Bank, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("银行")
    )
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("所属网点"),
    )
    role = models.CharField(_("角色"), max_length=10, choices=BankRole.choices)
    created_at = models.DateTimeField(_("加入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("银行人员")
        verbose_name_plural = _("银行人员")

    def __str__(self) -> str:
        return f"{self.user} @ {self.bank.name} ({self.role})"


class BankInvitation(InvitationBase):
    bank = models.ForeignKey(
        Bank, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("银行")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("所属网点")
    )
    role = models.CharField(
        _("角色"), max_length=10, choices=BankRole.choices, default=BankRole.OFFICER
    )

    class Meta:
        verbose_name = _("银行人员邀请")
        verbose_name_plural = _("银行人员邀请")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["admin", "officer"]), name="bank_invitation_role_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.bank.name}"

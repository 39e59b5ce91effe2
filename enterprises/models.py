from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enterprises import reference, uscc
from enterprises.resident_id import mask, mask_phone
from xinyidai.core.crypto import EncryptedTextField
from xinyidai.core.models import InvitationBase


class EnterpriseScale(models.TextChoices):
    MICRO = "micro", _("微型")
    SMALL = "small", _("小型")
    MEDIUM = "medium", _("中型")
    LARGE = "large", _("大型")


class EnterpriseStatus(models.TextChoices):
    ACTIVE = "active", _("存续")
    REVOKED = "revoked", _("吊销")
    CANCELLED = "cancelled", _("注销")
    MOVED_OUT = "moved_out", _("迁出")


INDUSTRY_SECTION_CHOICES = [(k, f"{k} {v}") for k, v in reference.INDUSTRY_SECTIONS.items()]
INDUSTRY_DIVISION_CHOICES = [
    (k, f"{k} {name}") for k, (_section, name) in reference.INDUSTRY_DIVISIONS.items()
]


def validate_uscc(value: str) -> None:
    result = uscc.check(value)
    if not result.valid or result.normalized != value:
        raise ValidationError(
            [p.message for p in result.errors] or [_("统一社会信用代码须为规范写法")]
        )


# Length and character set are also enforced by the database; the check character by the app.
USCC_SHAPE = r"^[0-9A-HJ-NPQRTUWXY]{18}$"


class Enterprise(models.Model):
    uscc = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(_("企业名称"), max_length=200, db_index=True)
    region_code = models.CharField(_("行政区划代码"), max_length=6, default="441900")
    town = models.CharField(
        _("镇街/园区"), max_length=32, choices=reference.TOWN_CHOICES, blank=True, db_index=True
    )
    industry_section = models.CharField(
        _("行业门类"), max_length=1, choices=INDUSTRY_SECTION_CHOICES, blank=True, db_index=True
    )
    industry_division = models.CharField(
        _("行业大类"), max_length=2, choices=INDUSTRY_DIVISION_CHOICES, blank=True
    )
    scale = models.CharField(
        _("企业规模"), max_length=10, choices=EnterpriseScale.choices, blank=True
    )
    registered_capital = models.DecimalField(
        _("注册资本（元）"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    established_date = models.DateField(_("成立日期"), null=True, blank=True)
    status = models.CharField(
        _("登记状态"),
        max_length=12,
        choices=EnterpriseStatus.choices,
        default=EnterpriseStatus.ACTIVE,
        db_index=True,
    )
    legal_rep_name = models.CharField(_("法定代表人"), max_length=100, blank=True)
    legal_rep_id = EncryptedTextField(_("法定代表人身份证号"), blank=True, default="")
    address = models.CharField(_("住所"), max_length=300, blank=True)
    phone = EncryptedTextField(_("联系电话"), blank=True, default="")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(registered_capital__isnull=True) | Q(registered_capital__gte=0),
                name="enterprise_capital_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(uscc__regex=USCC_SHAPE), name="enterprise_uscc_shape"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.uscc}）"

    @property
    def entity_type(self) -> str:
        """Registering department and entity type, read off the USCC (e.g. 市场监管 / 企业)."""
        department, kind = uscc.entity_type(self.uscc)
        return f"{department} / {kind}"

    @property
    def legal_rep_id_masked(self) -> str:
        return mask(self.legal_rep_id)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class EnterpriseRole(models.TextChoices):
    OWNER = "owner", _("所有者")
    ADMIN = "admin", _("管理员")
    MEMBER = "member", _("成员")


class EnterpriseMembership(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enterprise_membership",
        verbose_name=_("用户"),
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("企业")
    )
    role = models.CharField(_("角色"), max_length=10, choices=EnterpriseRole.choices)
    created_at = models.DateTimeField(_("加入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("企业成员")
        verbose_name_plural = _("企业成员")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise"],
                condition=Q(role="owner"),
                name="enterprise_single_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.enterprise.name} ({self.role})"


class ClaimStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    DISPUTED = "disputed", _("争议待裁定")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_CLAIM_STATUSES = (ClaimStatus.PENDING, ClaimStatus.DISPUTED)


class EnterpriseClaim(models.Model):
    """A user's request to become the owner of an enterprise (企业认领)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enterprise_claims",
        verbose_name=_("申请人"),
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="claims", verbose_name=_("企业")
    )
    submitted_name = models.CharField(_("填报企业名称"), max_length=200)
    submitted_legal_rep_name = models.CharField(_("填报法定代表人"), max_length=100)
    status = models.CharField(
        _("状态"), max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.PENDING
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("原所有者"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_reason = models.CharField(_("审核意见"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("企业认领")
        verbose_name_plural = _("企业认领")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "enterprise"],
                condition=Q(status__in=["pending", "disputed"]),
                name="claim_one_open_per_user_enterprise",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.enterprise.uscc} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CLAIM_STATUSES


class EnterpriseInvitation(InvitationBase):
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("企业")
    )
    role = models.CharField(
        _("角色"),
        max_length=10,
        choices=[(EnterpriseRole.ADMIN, _("管理员")), (EnterpriseRole.MEMBER, _("成员"))],
    )

    class Meta:
        verbose_name = _("企业成员邀请")
        verbose_name_plural = _("企业成员邀请")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.enterprise.name}"

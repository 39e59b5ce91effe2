from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enterprises import reference
from enterprises.models import USCC_SHAPE, AuthorizationScope, validate_uscc
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


# ---------------------------------------------------------------------------------------------
# Loan products (贷款产品) and their published versions
# ---------------------------------------------------------------------------------------------
class LoanKind(models.TextChoices):
    CREDIT = "credit", _("信用贷")
    TAX = "tax", _("银税互动贷")
    HOUSING_FUND = "housing_fund", _("公积金信用贷")
    FIRST_LOAN = "first_loan", _("首贷")
    RENEWAL = "renewal", _("续贷/无还本续贷")
    TECH = "tech", _("科技贷")
    SUPPLY_CHAIN = "supply_chain", _("供应链贷")


class GuaranteeMethod(models.TextChoices):
    CREDIT = "credit", _("信用")
    SURETY = "surety", _("保证")
    MORTGAGE = "mortgage", _("抵押")
    PLEDGE = "pledge", _("质押")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALMENT = "equal_instalment", _("等额本息")
    EQUAL_PRINCIPAL = "equal_principal", _("等额本金")
    INTEREST_FIRST = "interest_first", _("先息后本")
    BULLET = "bullet", _("到期还本")


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING_REVIEW = "pending_review", _("待审核")
    PUBLISHED = "published", _("已发布")
    SUSPENDED = "suspended", _("已暂停")
    RETIRED = "retired", _("已下架")


class ProductTerms(models.Model):
    """What a product offers and to whom: the bank's working copy (`LoanProduct`) and each
    published snapshot (`LoanProductVersion`) have the same fields."""

    name = models.CharField(_("产品名称"), max_length=100)
    kind = models.CharField(_("产品类型"), max_length=20, choices=LoanKind.choices)
    guarantee_methods = models.JSONField(_("担保方式"), default=list)
    amount_min = models.DecimalField(_("最低额度（元）"), max_digits=18, decimal_places=2)
    amount_max = models.DecimalField(_("最高额度（元）"), max_digits=18, decimal_places=2)
    rate_min = models.DecimalField(_("最低年利率（%）"), max_digits=7, decimal_places=4)
    rate_max = models.DecimalField(_("最高年利率（%）"), max_digits=7, decimal_places=4)
    term_min = models.PositiveSmallIntegerField(_("最短期限（月）"))
    term_max = models.PositiveSmallIntegerField(_("最长期限（月）"))
    repayment_methods = models.JSONField(_("还款方式"), default=list)
    description = models.TextField(_("产品介绍"), blank=True)
    # eligibility (准入条件); empty means "no condition"
    min_grade = models.CharField(_("最低信用等级"), max_length=1, blank=True)
    industries = models.JSONField(_("行业（门类）"), default=list, blank=True)
    towns = models.JSONField(_("镇街"), default=list, blank=True)
    min_years = models.PositiveSmallIntegerField(_("最短成立年限"), null=True, blank=True)
    scales = models.JSONField(_("企业规模"), default=list, blank=True)
    min_tax_grade = models.CharField(_("最低纳税信用等级"), max_length=1, blank=True)
    no_serious_record = models.BooleanField(_("无有效失信或严重失信记录"), default=True)
    min_registered_capital = models.DecimalField(
        _("最低注册资本（元）"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    required_scope = models.CharField(
        _("所需授权范围"),
        max_length=16,
        choices=AuthorizationScope.choices,
        default="portrait",
    )
    risk_compensation = models.BooleanField(_("纳入风险补偿资金池"), default=False)
    # ",credit,surety," — lets both databases filter on one guarantee method with LIKE
    guarantee_index = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.guarantee_index = "," + ",".join(self.guarantee_methods or []) + ","
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "guarantee_methods" in update_fields:
            kwargs["update_fields"] = [*update_fields, "guarantee_index"]
        super().save(*args, **kwargs)

    TERM_FIELDS = (
        "name",
        "kind",
        "guarantee_methods",
        "amount_min",
        "amount_max",
        "rate_min",
        "rate_max",
        "term_min",
        "term_max",
        "repayment_methods",
        "description",
        "min_grade",
        "industries",
        "towns",
        "min_years",
        "scales",
        "min_tax_grade",
        "no_serious_record",
        "min_registered_capital",
        "required_scope",
        "risk_compensation",
    )

    def terms(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.TERM_FIELDS}


class LoanProduct(ProductTerms):
    """A bank's product: its working copy of the terms, its status, and the version that is
    live in the marketplace (which stays listed while a revision is drafted and reviewed)."""

    bank = models.ForeignKey(
        Bank, on_delete=models.PROTECT, related_name="products", verbose_name=_("银行")
    )
    code = models.CharField(_("产品编码"), max_length=32)
    status = models.CharField(
        _("状态"), max_length=16, choices=ProductStatus.choices, default=ProductStatus.DRAFT
    )
    live_version = models.OneToOneField(
        "LoanProductVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("在售版本"),
    )
    listed = models.BooleanField(_("在产品超市展示"), default=False, db_index=True)
    review_note = models.CharField(_("审核意见"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("贷款产品")
        verbose_name_plural = _("贷款产品")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "code"], name="product_code_per_bank"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LoanProductVersion(ProductTerms):
    """The terms as published, never changed: an application keeps the version it applied to."""

    product = models.ForeignKey(
        LoanProduct, on_delete=models.PROTECT, related_name="versions", verbose_name=_("产品")
    )
    number = models.PositiveIntegerField(_("版本号"))
    published_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("贷款产品版本")
        verbose_name_plural = _("贷款产品版本")
        ordering = ["product", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "number"], name="product_version_once"),
        ]
        indexes = [
            models.Index(fields=["rate_min"], name="version_rate"),
            models.Index(fields=["amount_max"], name="version_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} v{self.number}"


class ProductEvent(models.Model):
    """History of a product's moves (submit, publish, reject, suspend, resume, retire)."""

    product = models.ForeignKey(
        LoanProduct, on_delete=models.CASCADE, related_name="events", verbose_name=_("产品")
    )
    move = models.CharField(_("操作"), max_length=16)
    old_status = models.CharField(_("原状态"), max_length=16)
    new_status = models.CharField(_("新状态"), max_length=16)
    version = models.ForeignKey(
        LoanProductVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("原因"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("产品操作记录")
        verbose_name_plural = _("产品操作记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.product_id} {self.move} {self.at:%Y-%m-%d %H:%M}"

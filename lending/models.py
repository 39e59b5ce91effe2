from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banks.models import GuaranteeMethod, RepaymentMethod


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已接单")
    UNDER_REVIEW = "under_review", _("审批中")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已拒绝")
    DISBURSED = "disbursed", _("已放款")
    CLOSED = "closed", _("已结清")
    WITHDRAWN = "withdrawn", _("已撤回")


class ApplicationKind(models.TextChoices):
    PRODUCT = "product", _("产品申请")
    DEMAND = "demand", _("融资需求")


class SlaStage(models.TextChoices):
    PICKUP = "pickup", _("接单")
    CONTACT = "contact", _("首次联系")
    DECISION = "decision", _("审批")


class RejectReason(models.TextChoices):
    CREDIT = "credit", _("信用状况不符合要求")
    REPAYMENT = "repayment", _("还款能力不足")
    MATERIALS = "materials", _("资料不全或不实")
    POLICY = "policy", _("不符合产品或授信政策")
    OTHER = "other", _("其他")


class LoanApplication(models.Model):
    """An enterprise's online application for one product version (贷款申请), or a general
    financing demand (融资需求) that the eligible banks it was offered to can pick up (抢单).
    A demand has no product and no bank until one accepts it."""

    number = models.CharField(_("申请编号"), max_length=32, unique=True)
    kind = models.CharField(
        _("类型"), max_length=8, choices=ApplicationKind.choices, default=ApplicationKind.PRODUCT
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise",
        on_delete=models.PROTECT,
        related_name="loan_applications",
        verbose_name=_("申请企业"),
    )
    product_version = models.ForeignKey(
        "banks.LoanProductVersion",
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("产品版本"),
        null=True,
        blank=True,
    )
    bank = models.ForeignKey(
        "banks.Bank",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("银行"),
        null=True,
        blank=True,
    )
    amount = models.DecimalField(_("申请金额（元）"), max_digits=18, decimal_places=2)
    term_months = models.PositiveSmallIntegerField(_("申请期限（月）"))
    repayment_method = models.CharField(
        _("还款方式"), max_length=20, blank=True, choices=RepaymentMethod.choices
    )
    preferred_guarantee = models.CharField(
        _("意向担保方式"), max_length=16, blank=True, choices=GuaranteeMethod.choices
    )
    purpose = models.CharField(_("资金用途"), max_length=200)
    authorization = models.ForeignKey(
        "enterprises.Authorization",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("数据授权"),
        null=True,
        blank=True,
    )
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.SUBMITTED,
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("受理人"),
    )
    accepted_at = models.DateTimeField(_("接单时间"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("首次联系时间"), null=True, blank=True)
    # service levels: the end (23:59:59 Beijing) of the due working day of each stage
    pickup_due = models.DateTimeField(_("接单期限"), null=True, blank=True)
    contact_due = models.DateTimeField(_("首次联系期限"), null=True, blank=True)
    decision_due = models.DateTimeField(_("审批期限"), null=True, blank=True)
    sla_assumed_years = models.CharField(
        _("按周末推算的年份"), max_length=40, blank=True, help_text=_("节假日安排未录入的年份")
    )
    pool_rounds = models.PositiveSmallIntegerField(_("重新放回抢单池次数"), default=0)
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    approved_amount = models.DecimalField(
        _("批准金额（元）"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    approved_rate = models.DecimalField(
        _("批准年利率（%）"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    approved_term_months = models.PositiveSmallIntegerField(
        _("批准期限（月）"), null=True, blank=True
    )
    approved_repayment_method = models.CharField(
        _("批准还款方式"), max_length=20, blank=True, choices=RepaymentMethod.choices
    )
    reject_reason = models.CharField(
        _("拒绝原因"), max_length=16, choices=RejectReason.choices, blank=True
    )
    reject_note = models.CharField(_("拒绝说明"), max_length=300, blank=True)
    disbursed_amount = models.DecimalField(
        _("放款金额（元）"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    disbursed_on = models.DateField(_("放款日期"), null=True, blank=True)
    disbursed_rate = models.DecimalField(
        _("执行年利率（%）"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    contract_number = models.CharField(_("合同编号"), max_length=64, blank=True)
    guarantee_party = models.CharField(_("担保或风险分担方"), max_length=200, blank=True)
    disbursed_guarantee_method = models.CharField(_("放款担保方式"), max_length=16, blank=True)
    first_loan = models.BooleanField(_("首贷"), null=True, blank=True)

    class Meta:
        verbose_name = _("贷款申请")
        verbose_name_plural = _("贷款申请")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["bank", "status"], name="application_bank_status"),
            models.Index(fields=["enterprise", "status"], name="application_firm_status"),
            models.Index(fields=["status", "pickup_due"], name="application_status_pickup"),
            models.Index(fields=["status", "decision_due"], name="application_status_decision"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="demand")
                | (models.Q(product_version__isnull=False) & models.Q(bank__isnull=False)),
                name="application_product_has_bank",
            ),
            models.CheckConstraint(
                condition=models.Q(bank__isnull=True) | models.Q(authorization__isnull=False),
                name="application_bank_has_authorization",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class ApplicationEvent(models.Model):
    """One move of an application: who, when, from which status to which, and why."""

    application = models.ForeignKey(
        LoanApplication, on_delete=models.CASCADE, related_name="events"
    )
    move = models.CharField(_("操作"), max_length=16)
    old_status = models.CharField(_("原状态"), max_length=16, blank=True)
    new_status = models.CharField(_("新状态"), max_length=16)
    # None: the platform itself (a demand going back to the pool)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reason = models.CharField(_("原因"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("申请操作记录")
        verbose_name_plural = _("申请操作记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.move}"


class DemandOffer(models.Model):
    """A bank a financing demand was offered to, with the enterprise's authorisation for it.
    When one bank accepts, the other banks' authorisations for the demand are revoked."""

    application = models.ForeignKey(
        LoanApplication, on_delete=models.CASCADE, related_name="offers"
    )
    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="+")
    authorization = models.ForeignKey(
        "enterprises.Authorization", on_delete=models.PROTECT, related_name="+"
    )
    products = models.JSONField(_("符合的产品"), default=list)
    # False when an authorisation the enterprise had already given the bank was reused: only
    # the ones made for this demand are revoked when another bank accepts it
    granted_for_demand = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("需求推送银行")
        verbose_name_plural = _("需求推送银行")
        constraints = [
            models.UniqueConstraint(fields=["application", "bank"], name="demand_offer_once")
        ]

    def __str__(self) -> str:
        return f"{self.application_id} → {self.bank_id}"


class Escalation(models.Model):
    """A service level missed and reported to the credit office, once per stage (and, for a
    demand going back to the pool, once per round)."""

    application = models.ForeignKey(
        LoanApplication, on_delete=models.CASCADE, related_name="escalations"
    )
    stage = models.CharField(_("环节"), max_length=10, choices=SlaStage.choices)
    round = models.PositiveSmallIntegerField(default=0)
    due = models.DateTimeField(_("期限"))
    bank = models.ForeignKey(
        "banks.Bank", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    at = models.DateTimeField(_("上报时间"), default=timezone.now)

    class Meta:
        verbose_name = _("超时上报")
        verbose_name_plural = _("超时上报")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "stage", "round"], name="escalation_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.stage} {self.round}"


class PunishmentFeedback(models.Model):
    """A joint-punishment block (联合惩戒) applied: an application refused because of an active
    serious-dishonesty or dishonest-debtor record, fed back to the credit office."""

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    context = models.CharField(_("场景"), max_length=32)
    records = models.JSONField(_("依据记录"), default=list)
    detail = models.CharField(_("说明"), max_length=300)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("惩戒反馈")
        verbose_name_plural = _("惩戒反馈")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.context} {self.at:%Y-%m-%d}"


# ---------------------------------------------------------------------------------------------
# Matching (融资对接)
# ---------------------------------------------------------------------------------------------
class MatchProfile(models.Model):
    """What matching needs about one enterprise, in one row (a denormalised copy of the facts
    eligibility reads, refreshed by `lending.matching.refresh_profiles`), so ranking a product's
    enterprises over a whole city is one indexed query and never a loop over ORM rows."""

    enterprise = models.OneToOneField(
        "enterprises.Enterprise", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    grade = models.CharField(max_length=1, blank=True)
    grade_rank = models.PositiveSmallIntegerField(default=0)  # eligibility.GRADE_ORDER, 0 = none
    score = models.PositiveSmallIntegerField(default=0)
    industry_section = models.CharField(max_length=1, blank=True)
    town = models.CharField(max_length=20, blank=True)
    scale = models.CharField(max_length=10, blank=True)
    established = models.DateField(null=True, blank=True)
    registered_capital = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    tax_grade = models.CharField(max_length=1, blank=True)
    tax_rank = models.PositiveSmallIntegerField(default=0)  # eligibility.TAX_GRADE_ORDER
    has_serious_record = models.BooleanField(default=False)
    # opted in to matching: a `matching` authorisation to all banks in force until this moment
    # (None: none), or to some banks only (`opted_banks`: checked against the authorisations)
    opt_in_all_until = models.DateTimeField(null=True, blank=True)
    opted_banks = models.BooleanField(default=False)
    # the latest open financing demand, if any
    demand_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    demand_term = models.PositiveSmallIntegerField(null=True, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("对接画像")
        verbose_name_plural = _("对接画像")
        indexes = [
            models.Index(
                fields=["-score", "enterprise"],
                name="match_opted_all_score",
                condition=models.Q(opt_in_all_until__isnull=False),
            ),
            models.Index(
                fields=["-score", "enterprise"],
                name="match_opted_banks_score",
                condition=models.Q(opted_banks=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.grade}{self.score}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("待回复")
    ACCEPTED = "accepted", _("已接受")
    DECLINED = "declined", _("已谢绝")
    EXPIRED = "expired", _("已过期")


class MatchInvitation(models.Model):
    """A bank invites an enterprise it was recommended to apply for one of its products
    (邀请申请); the enterprise accepts (and applies) or declines."""

    product = models.ForeignKey(
        "banks.LoanProduct", on_delete=models.CASCADE, related_name="invitations"
    )
    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="match_invitations"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    message = models.CharField(_("留言"), max_length=300, blank=True)
    reasons = models.JSONField(_("推荐理由"), default=list)
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
    )
    created_at = models.DateTimeField(_("邀请时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("有效期至"))
    responded_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decline_reason = models.CharField(_("谢绝原因"), max_length=300, blank=True)
    application = models.ForeignKey(
        LoanApplication, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("申请邀请")
        verbose_name_plural = _("申请邀请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "enterprise"],
                condition=models.Q(status="pending"),
                name="invitation_one_pending",
            )
        ]
        indexes = [models.Index(fields=["enterprise", "status"], name="invitation_firm_status")]

    def __str__(self) -> str:
        return f"{self.bank_id} → {self.enterprise_id} ({self.status})"

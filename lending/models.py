from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已接单")
    UNDER_REVIEW = "under_review", _("审批中")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已拒绝")
    DISBURSED = "disbursed", _("已放款")
    CLOSED = "closed", _("已结清")
    WITHDRAWN = "withdrawn", _("已撤回")


class RejectReason(models.TextChoices):
    CREDIT = "credit", _("信用状况不符合要求")
    REPAYMENT = "repayment", _("还款能力不足")
    MATERIALS = "materials", _("资料不全或不实")
    POLICY = "policy", _("不符合产品或授信政策")
    OTHER = "other", _("其他")


class LoanApplication(models.Model):
    """An enterprise's online application for one product version (贷款申请)."""

    number = models.CharField(_("申请编号"), max_length=32, unique=True)
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
    )
    bank = models.ForeignKey(
        "banks.Bank", on_delete=models.PROTECT, related_name="+", verbose_name=_("银行")
    )
    amount = models.DecimalField(_("申请金额（元）"), max_digits=18, decimal_places=2)
    term_months = models.PositiveSmallIntegerField(_("申请期限（月）"))
    repayment_method = models.CharField(_("还款方式"), max_length=20)
    purpose = models.CharField(_("资金用途"), max_length=200)
    authorization = models.ForeignKey(
        "enterprises.Authorization",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("数据授权"),
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
    approved_repayment_method = models.CharField(_("批准还款方式"), max_length=20, blank=True)
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

    class Meta:
        verbose_name = _("贷款申请")
        verbose_name_plural = _("贷款申请")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["bank", "status"], name="application_bank_status"),
            models.Index(fields=["enterprise", "status"], name="application_firm_status"),
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
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("原因"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("申请操作记录")
        verbose_name_plural = _("申请操作记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.move}"


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

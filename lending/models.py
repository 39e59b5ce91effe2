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
            # the filters and narrow products of a city where most firms opted in
            # (docs/BENCHMARKS.md, matching): the top K is read from these in score order
            models.Index(
                fields=["grade_rank", "-score", "enterprise"],
                name="match_opted_all_grade",
                condition=models.Q(opt_in_all_until__isnull=False),
            ),
            models.Index(
                fields=["town", "-score", "enterprise"],
                name="match_opted_all_town",
                condition=models.Q(opt_in_all_until__isnull=False),
            ),
            models.Index(
                fields=["industry_section", "-score", "enterprise"],
                name="match_opted_all_industry",
                condition=models.Q(opt_in_all_until__isnull=False),
            ),
            models.Index(
                fields=["-score", "enterprise"],
                name="match_opted_all_demand",
                condition=models.Q(opt_in_all_until__isnull=False, demand_amount__isnull=False),
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


# ---------------------------------------------------------------------------------------------
# Recommended lists (推荐清单) and their push to the national platform
# ---------------------------------------------------------------------------------------------
GRADE_CHOICES = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]


class RecommendationCriteria(models.Model):
    """The credit office's screening rule for a recommended list: the five criteria
    (依法合规经营、固定经营场所、真实融资需求、信用良好、贷款用途合法合规) mapped to data, plus
    filters. Editing raises `version`; every list keeps a snapshot of what it used."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    # good credit: the current grade at least this one
    min_grade = models.CharField(
        _("最低信用等级"), max_length=1, choices=GRADE_CHOICES, default="B"
    )
    # lawful continuing operation: registered as operating, founded at least this long ago, no
    # serious administrative penalty within `penalty_years`, not on the abnormal-operation list
    min_years = models.PositiveSmallIntegerField(_("成立满（年）"), default=1)
    penalty_years = models.PositiveSmallIntegerField(_("无严重行政处罚（年）"), default=3)
    # fixed premises: a registered address
    require_premises = models.BooleanField(_("须有登记住所"), default=True)
    # lawful loan use: no serious-dishonesty or dishonest-debtor record within this many years
    serious_years = models.PositiveSmallIntegerField(_("无严重失信记录（年）"), default=3)
    # genuine financing need: an open demand or an application in the period, or (unless this
    # is set) a matching opt-in
    need_demand_only = models.BooleanField(_("仅以融资需求或贷款申请证明融资需求"), default=False)
    # only enterprises that authorised matching (融资对接授权); banks only ever get those
    require_opt_in = models.BooleanField(_("须已授权融资对接"), default=True)
    towns = models.JSONField(_("镇街"), default=list, blank=True)
    industries = models.JSONField(_("行业门类"), default=list, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("推荐条件")
        verbose_name_plural = _("推荐条件")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name}（v{self.version}）"


class RecommendationListStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    GENERATED = "generated", _("待审核")
    APPROVED = "approved", _("已审定")
    CANCELLED = "cancelled", _("已作废")


class RecommendationList(models.Model):
    """A recommended-enterprise list (推荐清单) for a period: generated from criteria, reviewed
    (entries removed with a reason), approved (the national push is written in the same
    transaction) and allocated to banks. "Delivered" is not a status: it is read off the
    deliveries."""

    number = models.CharField(_("清单编号"), max_length=32, unique=True)
    title = models.CharField(_("名称"), max_length=200)
    criteria = models.ForeignKey(
        RecommendationCriteria,
        on_delete=models.PROTECT,
        related_name="lists",
        verbose_name=_("推荐条件"),
    )
    criteria_snapshot = models.JSONField(_("生成时的条件"), default=dict, blank=True)
    period_start = models.DateField(_("期间自"))
    period_end = models.DateField(_("期间至"))
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=RecommendationListStatus.choices,
        default=RecommendationListStatus.DRAFT,
    )
    entry_count = models.PositiveIntegerField(_("入选企业数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    generated_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    approved_at = models.DateTimeField(_("审定时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("推荐清单")
        verbose_name_plural = _("推荐清单")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="reclist_status_created")]

    def __str__(self) -> str:
        return self.number


class FeedbackStatus(models.TextChoices):
    PENDING = "pending", _("待对接")
    CONTACTED = "contacted", _("已联系")
    GRANTED = "granted", _("已授信")
    DECLINED = "declined", _("未授信")


class DeclineReason(models.TextChoices):
    NO_NEED = "no_need", _("企业暂无融资需求")
    UNREACHABLE = "unreachable", _("无法联系企业")
    CREDIT = "credit", _("信用或经营状况不符合要求")
    REPAYMENT = "repayment", _("还款能力不足")
    POLICY = "policy", _("不符合授信政策")
    OTHER = "other", _("其他")


class NeedEvidence(models.TextChoices):
    DEMAND = "demand", _("在办融资需求")
    APPLICATION = "application", _("期内贷款申请")
    OPT_IN = "opt_in", _("已授权融资对接")


class RecommendationEntry(models.Model):
    """One enterprise on a list, with what it qualified on (a snapshot: later changes of the
    enterprise do not alter an approved list), its bank and that bank's feedback."""

    list = models.ForeignKey(
        RecommendationList, on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    seq = models.PositiveIntegerField(_("序号"))
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    uscc = models.CharField(_("统一社会信用代码"), max_length=18)
    name = models.CharField(_("企业名称"), max_length=200)
    town = models.CharField(_("镇街/园区"), max_length=32, blank=True)
    industry_section = models.CharField(_("行业门类"), max_length=1, blank=True)
    grade = models.CharField(_("信用等级"), max_length=1)
    score = models.PositiveSmallIntegerField(_("信用分"))
    established = models.DateField(_("成立日期"), null=True, blank=True)
    need = models.CharField(_("融资需求依据"), max_length=12, choices=NeedEvidence.choices)
    # a matching authorisation in force at generation: "all" banks, some "banks", or none ""
    opt_in = models.CharField(_("融资对接授权"), max_length=5, blank=True)
    removed = models.BooleanField(_("已移出"), default=False)
    removed_reason = models.CharField(_("移出原因"), max_length=300, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
    )
    removed_at = models.DateTimeField(_("移出时间"), null=True, blank=True)
    # indexed only where allocated (recentry_bank_feedback): generation writes no index entry
    bank = models.ForeignKey(
        "banks.Bank",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("对接银行"),
        db_index=False,
    )
    allocated_at = models.DateTimeField(_("分配时间"), null=True, blank=True)
    feedback = models.CharField(
        _("银行反馈"),
        max_length=10,
        choices=FeedbackStatus.choices,
        default=FeedbackStatus.PENDING,
    )
    contacted_at = models.DateTimeField(_("联系时间"), null=True, blank=True)
    granted_amount = models.DecimalField(
        _("授信金额（元）"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    decline_reason = models.CharField(
        _("未授信原因"), max_length=12, choices=DeclineReason.choices, blank=True
    )
    feedback_note = models.CharField(_("反馈说明"), max_length=300, blank=True)
    feedback_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
    )
    feedback_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("推荐清单企业")
        verbose_name_plural = _("推荐清单企业")
        ordering = ["list", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["list", "seq"], name="recentry_list_seq"),
            models.UniqueConstraint(fields=["list", "enterprise"], name="recentry_list_firm"),
            models.CheckConstraint(
                condition=models.Q(granted_amount__isnull=True) | models.Q(granted_amount__gt=0),
                name="recentry_granted_positive",
            ),
        ]
        indexes = [
            models.Index(
                fields=["bank", "feedback"],
                name="recentry_bank_feedback",
                condition=models.Q(bank__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.list_id}#{self.seq} {self.uscc}"


class RecommendationEvent(models.Model):
    """One move on a list or on one of its entries: who, when, from which status to which."""

    list = models.ForeignKey(RecommendationList, on_delete=models.CASCADE, related_name="events")
    # kept (without the link) when a regeneration replaces the entries; `uscc` still says whom
    entry = models.ForeignKey(
        RecommendationEntry,
        on_delete=models.SET_NULL,
        related_name="events",
        null=True,
        blank=True,
    )
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    move = models.CharField(_("操作"), max_length=16)
    old_status = models.CharField(_("原状态"), max_length=10, blank=True)
    new_status = models.CharField(_("新状态"), max_length=10, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reason = models.CharField(_("说明"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("推荐清单操作记录")
        verbose_name_plural = _("推荐清单操作记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.list_id} {self.move}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待推送")
    SENDING = "sending", _("推送中")
    DELIVERED = "delivered", _("已送达")
    GAVE_UP = "gave_up", _("推送失败")


class NationalDelivery(models.Model):
    """The outbox (发件箱): one chunk of an approved list for the national platform, written in
    the transaction that approves the list and sent until the platform confirms it."""

    list = models.ForeignKey(
        RecommendationList, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    chunk = models.PositiveIntegerField(_("分片"))
    chunks = models.PositiveIntegerField(_("分片总数"))
    idempotency_key = models.CharField(_("幂等键"), max_length=64, unique=True)
    seq_from = models.PositiveIntegerField(_("起始序号"))
    seq_to = models.PositiveIntegerField(_("截止序号"))
    rows = models.PositiveIntegerField(_("行数"))
    payload_digest = models.CharField(_("报文摘要（SHA-256）"), max_length=64, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), default=timezone.now)
    # while sending: the lease; a worker that dies mid-push leaves the chunk to be picked again
    # once it has run out
    sending_until = models.DateTimeField(_("推送租约至"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    # retries go on for NATIONAL_PLATFORM_GIVE_UP_HOURS from here (reset by a manual re-push)
    window_started_at = models.DateTimeField(_("重试起算时间"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("最近尝试时间"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("最近响应码"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    receipt = models.JSONField(_("回执"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("国家平台推送")
        verbose_name_plural = _("国家平台推送")
        ordering = ["list", "chunk"]
        constraints = [
            models.UniqueConstraint(fields=["list", "chunk"], name="delivery_list_chunk"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_due"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class NationalReceipt(models.Model):
    """The demo receiver's side (国家平台接收端的替身): each idempotency key stored once, with the
    body's digest; a resend is counted, never stored again."""

    idempotency_key = models.CharField(max_length=64, unique=True)
    body_digest = models.CharField(max_length=64)
    list_number = models.CharField(max_length=32, blank=True)
    chunk = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    seq_from = models.PositiveIntegerField(null=True, blank=True)
    seq_to = models.PositiveIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    duplicates = models.PositiveIntegerField(default=0)
    last_duplicate_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("国家平台接收记录")
        verbose_name_plural = _("国家平台接收记录")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return self.idempotency_key


class NationalNonce(models.Model):
    """Nonces the receiver has seen within the timestamp window: a replay is refused."""

    nonce = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("接收端随机数")
        verbose_name_plural = _("接收端随机数")

    def __str__(self) -> str:
        return self.nonce

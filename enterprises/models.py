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


# ---------------------------------------------------------------------------------------------
# Natural persons and shareholdings (the investment graph is built on these)
# ---------------------------------------------------------------------------------------------
class Person(models.Model):
    """A natural person known by a salted hash of the resident ID; the number itself is never
    stored (only its masked form for display)."""

    id_hash = models.CharField(_("身份证号摘要"), max_length=64, unique=True)
    id_masked = models.CharField(_("身份证号（脱敏）"), max_length=18)
    name = models.CharField(_("姓名"), max_length=100)

    class Meta:
        verbose_name = _("自然人")
        verbose_name_plural = _("自然人")

    def __str__(self) -> str:
        return f"{self.name}（{self.id_masked}）"


class Shareholding(models.Model):
    holder_enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="holdings",
        verbose_name=_("出资企业"),
    )
    holder_person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="holdings",
        verbose_name=_("出资自然人"),
    )
    target = models.ForeignKey(
        Enterprise,
        on_delete=models.CASCADE,
        related_name="shareholders",
        verbose_name=_("被投资企业"),
    )
    share_percent = models.DecimalField(_("持股比例（%）"), max_digits=7, decimal_places=4)
    subscribed_capital = models.DecimalField(
        _("认缴出资额（元）"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    as_of = models.DateField(_("数据日期"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("股东出资")
        verbose_name_plural = _("股东出资")
        constraints = [
            models.CheckConstraint(
                condition=(Q(holder_enterprise__isnull=False) & Q(holder_person__isnull=True))
                | (Q(holder_enterprise__isnull=True) & Q(holder_person__isnull=False)),
                name="shareholding_one_holder",
            ),
            models.CheckConstraint(
                condition=Q(share_percent__gt=0) & Q(share_percent__lte=100),
                name="shareholding_share_range",
            ),
        ]

    def __str__(self) -> str:
        holder = self.holder_enterprise or self.holder_person
        return f"{holder} → {self.target} {self.share_percent}%"


class PersonnelRole(models.IntegerChoices):
    LEGAL_REPRESENTATIVE = 1, _("法定代表人")
    DIRECTOR = 2, _("董事")
    SUPERVISOR = 3, _("监事")
    MANAGER = 4, _("经理")


class KeyPersonnel(models.Model):
    """Key personnel (主要人员): the second kind of link in the investment graph, next to
    shareholdings. It shows who runs a firm; it never counts as ownership."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="key_personnel", verbose_name=_("企业")
    )
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="positions", verbose_name=_("自然人")
    )
    role = models.PositiveSmallIntegerField(_("职务"), choices=PersonnelRole.choices)
    as_of = models.DateField(_("数据日期"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("主要人员")
        verbose_name_plural = _("主要人员")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "person", "role"], name="key_personnel_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_role_display()} @ {self.enterprise}"


# ---------------------------------------------------------------------------------------------
# Public credit records (公共信用信息)
# ---------------------------------------------------------------------------------------------
class RecordType(models.TextChoices):
    LICENSE = "license", _("行政许可")
    PENALTY = "penalty", _("行政处罚")
    ENFORCEMENT = "enforcement", _("行政强制")
    INSPECTION = "inspection", _("行政检查")
    AWARD = "award", _("行政奖励/荣誉")
    QUALIFICATION = "qualification", _("资质")
    DISHONEST_DEBTOR = "dishonest_debtor", _("失信被执行人")
    ABNORMAL_OPERATION = "abnormal_operation", _("经营异常名录")
    SERIOUS_DISHONESTY = "serious_dishonesty", _("严重失信主体名单")
    RED_LIST = "red_list", _("守信激励")
    TAX_GRADE = "tax_grade", _("纳税信用等级")
    SOCIAL_INSURANCE = "social_insurance", _("社会保险缴纳")
    HOUSING_FUND = "housing_fund", _("住房公积金缴存")
    UTILITY_PAYMENT = "utility_payment", _("水电气缴费")
    JUDGMENT = "judgment", _("司法判决")
    COMMITMENT = "commitment", _("信用承诺")


class PenaltyClass(models.TextChoices):
    MINOR = "minor", _("轻微")
    GENERAL = "general", _("一般")
    SERIOUS = "serious", _("严重")


class RecordStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    EXPIRED = "expired", _("已到期")
    REPAIRED = "repaired", _("已修复")
    UNDER_OBJECTION = "under_objection", _("异议处理中")


class Fulfilment(models.TextChoices):
    PENDING = "pending", _("履约中")
    FULFILLED = "fulfilled", _("已履约")
    BREACHED = "breached", _("未履约")


class CreditRecord(models.Model):
    # Every index costs the bulk import time; (enterprise, status) serves the FK lookups too.
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="credit_records",
        verbose_name=_("企业"),
        db_index=False,
    )
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, db_index=True)
    enterprise_name = models.CharField(_("主体名称"), max_length=200, blank=True)
    record_type = models.CharField(_("记录类型"), max_length=24, choices=RecordType.choices)
    source_department = models.CharField(_("来源部门"), max_length=100)
    source_record_id = models.CharField(_("来源记录编号"), max_length=100)
    document_number = models.CharField(_("文书号"), max_length=200, blank=True)
    decision_date = models.DateField(_("决定日期"))
    penalty_class = models.CharField(
        _("处罚类别"), max_length=10, choices=PenaltyClass.choices, blank=True
    )
    amount = models.DecimalField(
        _("金额（元）"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    value = models.CharField(_("数值/等级"), max_length=50, blank=True)
    year = models.PositiveSmallIntegerField(_("年度"), null=True, blank=True)
    months_paid = models.PositiveSmallIntegerField(_("已缴月数"), null=True, blank=True)
    months_arrears = models.PositiveSmallIntegerField(_("欠缴月数"), null=True, blank=True)
    fulfilment = models.CharField(
        _("履约状态"), max_length=10, choices=Fulfilment.choices, blank=True
    )
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    content = models.TextField(_("内容"), blank=True)
    publish_min_until = models.DateField(_("最短公示期至"), null=True, blank=True)
    publish_max_until = models.DateField(_("最长公示期至"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.ACTIVE
    )
    raw = models.JSONField(_("原始数据"), default=dict, blank=True)
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("入库时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("信用记录")
        verbose_name_plural = _("信用记录")
        constraints = [
            models.UniqueConstraint(
                fields=["source_department", "source_record_id"], name="record_source_key"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="record_amount_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["enterprise", "status"]),
            models.Index(fields=["source_department", "created_at"]),
            # the nightly expiry looks only at active records with an end date
            models.Index(
                fields=["publish_max_until"],
                condition=Q(status="active"),
                name="record_active_publish_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_record_type_display()} {self.uscc} {self.decision_date}"


class ImportBatch(models.Model):
    """One file or API batch of records: who sent it, when, and what became of its rows."""

    source_department = models.CharField(_("来源部门"), max_length=100, blank=True)
    channel = models.CharField(
        _("渠道"), max_length=10, choices=[("file", _("文件")), ("api", "API")]
    )
    file_name = models.CharField(_("文件名"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    dry_run = models.BooleanField(default=False)
    state = models.CharField(
        _("状态"),
        max_length=10,
        choices=[("pending", _("排队中")), ("done", _("已完成")), ("failed", _("失败"))],
        default="done",
    )
    error = models.CharField(_("失败原因"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.source_department} {self.started_at:%Y-%m-%d %H:%M}"


class ImportRejection(models.Model):
    """A rejected row, kept for the data-quality report (invalid codes, missing fields …)."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejections")
    source_department = models.CharField(max_length=100, blank=True, db_index=True)
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=64, blank=True)
    code = models.CharField(max_length=64, db_index=True)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("拒收记录")
        verbose_name_plural = _("拒收记录")

    def __str__(self) -> str:
        return f"#{self.row} {self.field} {self.code}"


# ---------------------------------------------------------------------------------------------
# Credit grading (信用评价): the scorecard as versioned data, and the grades computed from it.
# The engine lives in enterprises/scoring.py; the default scheme is documented in docs/SCORING.md.
# ---------------------------------------------------------------------------------------------
class ScoreScheme(models.Model):
    """One version of the scorecard: indicator tree, weights, leaf rules, grade thresholds and
    hard rules, all as data. A version never changes once grades refer to it; a new version is a
    new row."""

    version = models.CharField(_("版本"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    definition = models.JSONField(_("指标体系定义"))
    is_active = models.BooleanField(_("当前启用"), default=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("评价方案")
        verbose_name_plural = _("评价方案")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="score_scheme_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.version}）"


class CreditGrade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class EnterpriseGrade(models.Model):
    """A computed grade. Regrading inserts new rows and clears `is_current` on the enterprise's
    previous one, so the history stays; exactly one row per enterprise is current."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="grades", verbose_name=_("企业")
    )
    scheme_version = models.CharField(_("评价方案版本"), max_length=20)
    score = models.PositiveSmallIntegerField(_("信用分"))
    grade = models.CharField(_("信用等级"), max_length=1, choices=CreditGrade.choices)
    dimension_scores = models.JSONField(_("维度得分"), default=dict)
    reasons = models.JSONField(_("评价理由"), default=dict)
    hard_rule = models.CharField(_("触发的否决规则"), max_length=40, blank=True)
    digest = models.BigIntegerField(_("结果摘要"), default=0)
    computed_at = models.DateTimeField(_("评价时间"), default=timezone.now)
    is_current = models.BooleanField(_("当前有效"), default=True)

    class Meta:
        verbose_name = _("企业信用等级")
        verbose_name_plural = _("企业信用等级")
        ordering = ["-computed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise"],
                condition=Q(is_current=True),
                name="grade_one_current_per_enterprise",
            ),
            models.CheckConstraint(condition=Q(score__lte=1000), name="grade_score_range"),
        ]
        indexes = [
            # matching ranks current grades: WHERE is_current AND grade … ORDER BY score
            models.Index(
                fields=["grade", "score"],
                condition=Q(is_current=True),
                name="grade_current_grade_score",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.grade} {self.score}（{self.scheme_version}）"


# ---------------------------------------------------------------------------------------------
# Data-sharing authorisation (授权) and the access trail
# ---------------------------------------------------------------------------------------------
class AuthorizationScope(models.TextChoices):
    """Ordered: a wider scope includes the narrower ones (records ⊃ portrait ⊃ summary)."""

    SUMMARY = "summary", _("信用摘要")
    PORTRAIT = "portrait", _("信用画像")
    RECORDS = "records", _("信用记录明细")


SCOPE_LEVEL = {"summary": 1, "portrait": 2, "records": 3}
SCOPE_DESCRIPTIONS = {
    "summary": _("信用等级、评分及其主要原因"),
    "portrait": _("完整信用画像，含投资关系图谱、股权穿透与关联风险"),
    "records": _("完整信用画像及原始信用记录和相关文书"),
}


def scopes_covering(scope: str) -> list[str]:
    """The scopes whose grant allows reading at `scope`."""
    return [s for s, level in SCOPE_LEVEL.items() if level >= SCOPE_LEVEL[scope]]


class AuthorizationPurpose(models.TextChoices):
    LOAN_APPLICATION = "loan_application", _("贷款申请")
    GUARANTEE = "guarantee", _("担保")
    PRE_LOAN = "pre_loan", _("贷前调查")
    POST_LOAN = "post_loan", _("贷后管理")
    MATCHING = "matching", _("融资对接")


class AuthorizationStatus(models.TextChoices):
    """Stored status. "active" covers not-yet-valid and in force; `state()` tells them apart,
    and an "active" row past its end reads as expired even before the nightly job marks it."""

    ACTIVE = "active", _("有效")
    REVOKED = "revoked", _("已撤销")
    EXPIRED = "expired", _("已到期")
    RENEWED = "renewed", _("已续期")


class AuthorizationState(models.TextChoices):
    PENDING = "pending", _("未生效")
    ACTIVE = "active", _("生效中")
    REVOKED = "revoked", _("已撤销")
    EXPIRED = "expired", _("已到期")
    RENEWED = "renewed", _("已续期")


class Authorization(models.Model):
    number = models.CharField(_("授权编号"), max_length=32, unique=True)
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="authorizations",
        verbose_name=_("授权企业"),
    )
    grantee_bank = models.ForeignKey(
        "banks.Bank",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authorizations",
        verbose_name=_("被授权银行"),
        help_text=_("为空表示平台全部银行（仅用于融资对接）"),
    )
    scope = models.CharField(_("授权范围"), max_length=16, choices=AuthorizationScope.choices)
    purpose = models.CharField(_("授权用途"), max_length=20, choices=AuthorizationPurpose.choices)
    valid_from = models.DateTimeField(_("生效时间"))
    valid_until = models.DateTimeField(_("截止时间"))
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=AuthorizationStatus.choices,
        default=AuthorizationStatus.ACTIVE,
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("授权人"),
    )
    granted_at = models.DateTimeField(_("授权时间"), default=timezone.now)
    ended_at = models.DateTimeField(_("终止时间"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("终止人"),
    )
    end_reason = models.CharField(_("终止原因"), max_length=200, blank=True)
    renewed_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewal",
        verbose_name=_("续期自"),
    )
    digest = models.CharField(_("授权书摘要（SM3）"), max_length=64)
    expiry_notice_sent_at = models.DateTimeField(_("到期提醒时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("数据授权")
        verbose_name_plural = _("数据授权")
        ordering = ["-granted_at", "-id"]
        indexes = [
            models.Index(fields=["enterprise", "status"], name="auth_enterprise_status"),
            models.Index(fields=["grantee_bank", "status"], name="auth_bank_status"),
            models.Index(fields=["status", "valid_until"], name="auth_status_until"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")), name="auth_valid_range"
            ),
            models.CheckConstraint(
                condition=Q(grantee_bank__isnull=False) | Q(purpose="matching"),
                name="auth_all_banks_only_for_matching",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def state(self, at: object = None) -> str:
        now = at or timezone.now()
        if self.status != AuthorizationStatus.ACTIVE:
            return str(self.status)
        if now < self.valid_from:  # type: ignore[operator]
            return AuthorizationState.PENDING
        if now >= self.valid_until:  # type: ignore[operator]
            return AuthorizationState.EXPIRED
        return AuthorizationState.ACTIVE

    def get_state_display(self) -> str:
        return str(AuthorizationState(self.state()).label)

    @property
    def grantee_name(self) -> str:
        return self.grantee_bank.name if self.grantee_bank else str(_("平台全部银行（融资对接）"))


class AuthorizationEventKind(models.TextChoices):
    GRANT = "grant", _("授权")
    RENEW = "renew", _("续期")
    REVOKE = "revoke", _("撤销")
    EXPIRE = "expire", _("到期")


class AuthorizationEvent(models.Model):
    """History of an authorisation; every row is chained into the ledger."""

    authorization = models.ForeignKey(
        Authorization, on_delete=models.PROTECT, related_name="events", verbose_name=_("授权")
    )
    kind = models.CharField(_("事件"), max_length=10, choices=AuthorizationEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    old_status = models.CharField(_("原状态"), max_length=10, blank=True)
    new_status = models.CharField(_("新状态"), max_length=10)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    ledger_seq = models.BigIntegerField(_("账本序号"), null=True, blank=True)

    class Meta:
        verbose_name = _("授权事件")
        verbose_name_plural = _("授权事件")
        ordering = ["at", "id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(ledger_seq__isnull=True),
                name="authevent_unsealed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.authorization_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def ledger_kind(self) -> str:
        return f"authorization.{self.kind}"

    def ledger_at(self) -> object:
        return self.at

    def ledger_data(self) -> dict[str, object]:
        a = self.authorization
        from xinyidai.core.ledger import iso

        return {
            "authorization": a.number,
            "digest": a.digest,
            "enterprise": a.enterprise.uscc,
            "grantee_bank": a.grantee_bank.fi_code if a.grantee_bank else None,
            "scope": a.scope,
            "purpose": a.purpose,
            "valid_from": iso(a.valid_from),
            "valid_until": iso(a.valid_until),
            "renewed_from": a.renewed_from.number if a.renewed_from else None,
            "actor": self.actor_id,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "reason": self.reason,
        }


class AccessLog(models.Model):
    """One read of an enterprise's data by someone other than the enterprise itself."""

    at = models.DateTimeField(_("时间"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("查询人"),
    )
    role = models.CharField(_("身份"), max_length=20)
    bank = models.ForeignKey(
        "banks.Bank",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("银行"),
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="+", verbose_name=_("企业")
    )
    scope = models.CharField(_("范围"), max_length=16, choices=AuthorizationScope.choices)
    purpose = models.CharField(
        _("用途"), max_length=20, choices=AuthorizationPurpose.choices, blank=True
    )
    reason = models.CharField(_("查询事由"), max_length=200, blank=True)
    authorization = models.ForeignKey(
        Authorization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reads",
        verbose_name=_("依据授权"),
    )
    path = models.CharField(_("访问路径"), max_length=300)
    client_ip = models.GenericIPAddressField(_("客户端地址"), null=True, blank=True)
    ledger_seq = models.BigIntegerField(_("账本序号"), null=True, blank=True)

    class Meta:
        verbose_name = _("数据访问记录")
        verbose_name_plural = _("数据访问记录")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["enterprise", "-at"], name="access_enterprise_at"),
            models.Index(fields=["bank", "-at"], name="access_bank_at"),
            models.Index(fields=["user", "-at"], name="access_user_at"),
            models.Index(
                fields=["id"], condition=Q(ledger_seq__isnull=True), name="access_unsealed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} → {self.enterprise_id} ({self.scope})"

    def ledger_kind(self) -> str:
        return "read"

    def ledger_at(self) -> object:
        return self.at

    def ledger_data(self) -> dict[str, object]:
        return {
            "user": self.user_id,
            "role": self.role,
            "bank": self.bank_id,
            "enterprise": self.enterprise_id,
            "scope": self.scope,
            "purpose": self.purpose,
            "reason": self.reason,
            "authorization": self.authorization_id,
            "path": self.path,
            "ip": self.client_ip,
        }


class BankFirstRead(models.Model):
    """The first read of an enterprise by a bank: the enterprise is told once."""

    bank = models.ForeignKey("banks.Bank", on_delete=models.CASCADE, related_name="+")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("银行首次查询")
        verbose_name_plural = _("银行首次查询")
        constraints = [
            models.UniqueConstraint(fields=["bank", "enterprise"], name="first_read_once")
        ]

    def __str__(self) -> str:
        return f"{self.bank_id} → {self.enterprise_id}"

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class PlatformRole(models.TextChoices):
    """Roles that belong to the platform itself rather than to an enterprise or a bank."""

    NONE = "", _("无")
    CREDIT_OFFICE = "credit_office", _("信用办工作人员")
    TRADING_CENTRE = "trading_centre", _("交易中心经办人")
    DATA_SOURCE = "data_source", _("数据报送单位")


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("电子邮箱"), unique=True)
    full_name = models.CharField(_("姓名"), max_length=100, blank=True)
    platform_role = models.CharField(
        _("平台角色"), max_length=20, choices=PlatformRole.choices, blank=True, default=""
    )
    # For data-source accounts: the department whose records this account may send.
    department = models.CharField(_("所属部门"), max_length=100, blank=True, default="")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name or self.email.split("@")[0]


class AuditEvent(models.Model):
    """Append-only record of who did what to which object, and when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("动作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象标识"), max_length=64)
    data = models.JSONField(_("内容"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


class InvitationBase(models.Model):
    """Shared shape of an invitation by e-mail to join an enterprise or a bank."""

    email = models.EmailField(_("受邀邮箱"))
    token = models.CharField(max_length=64, unique=True, default=_invitation_token, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("邀请人"),
    )
    created_at = models.DateTimeField(_("邀请时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("有效期至"))
    accepted_at = models.DateTimeField(_("接受时间"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("接受人"),
    )
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and (self.expires_at > timezone.now())
        )


# ---------------------------------------------------------------------------------------------
# Tamper-evident ledger (see xinyidai/core/ledger.py)
# ---------------------------------------------------------------------------------------------
LEDGER_GENESIS = "0" * 64


class LedgerHead(models.Model):
    """The single row holding the chain's last sequence number and hash. Appenders lock it, so
    concurrent appends queue up instead of forking the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(_("最新序号"), default=0)
    hash = models.CharField(_("最新哈希"), max_length=64, default=LEDGER_GENESIS)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("账本链头")
        verbose_name_plural = _("账本链头")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class LedgerEntry(models.Model):
    """One link of the hash chain: hash = SM3(previous hash ‖ body), body being the canonical
    JSON of the event (it carries its own sequence number, so moving rows shows)."""

    seq = models.BigIntegerField(_("序号"), primary_key=True)
    kind = models.CharField(_("类型"), max_length=32)
    ref = models.CharField(_("来源"), max_length=80, unique=True)
    body = models.TextField(_("内容"))
    prev_hash = models.CharField(_("前一哈希"), max_length=64, unique=True)
    hash = models.CharField(_("哈希"), max_length=64)
    mac = models.CharField(_("校验码"), max_length=64)
    sealed_at = models.DateTimeField(_("入账时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("账本条目")
        verbose_name_plural = _("账本条目")
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.hash[:12]}"


class LedgerAnchor(models.Model):
    """The chain's head at the end of a day, keyed with LEDGER_KEY and shown publicly."""

    day = models.DateField(_("日期"), unique=True)
    seq = models.BigIntegerField(_("序号"))
    hash = models.CharField(_("哈希"), max_length=64)
    mac = models.CharField(_("校验码"), max_length=64)
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)

    class Meta:
        verbose_name = _("账本每日锚点")
        verbose_name_plural = _("账本每日锚点")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day} #{self.seq}"


class LedgerCheck(models.Model):
    """The result of one full verification of the chain (nightly or by hand)."""

    ran_at = models.DateTimeField(_("校验时间"), default=timezone.now)
    ok = models.BooleanField(_("完整"))
    entries = models.BigIntegerField(_("条目数"))
    first_bad_seq = models.BigIntegerField(_("首个异常序号"), null=True, blank=True)
    problem = models.CharField(_("问题"), max_length=300, blank=True)
    seconds = models.FloatField(_("耗时（秒）"))

    class Meta:
        verbose_name = _("账本校验")
        verbose_name_plural = _("账本校验")
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'FAILED'}"


# ---------------------------------------------------------------------------------------------
# Holiday calendar entered by the credit office (see xinyidai/core/workdays.py)
# ---------------------------------------------------------------------------------------------
class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日")  # a day off, even on a weekday
    WORKDAY = "workday", _("调休上班")  # a working day, even on a weekend


class CalendarDay(models.Model):
    """One day of the State Council's schedule entered by the credit office. A row wins over
    the `chinese_calendar` package and over the Monday–Friday rule."""

    day = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=CalendarDayKind.choices)
    name = models.CharField(_("节日"), max_length=50, blank=True, default="")
    note = models.CharField(_("依据"), max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("录入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.name}".rstrip()


class CalendarYear(models.Model):
    """The credit office's statement that a year's schedule is entered completely. Until then
    the year is *assumed*: weekends off, plus whatever days were entered."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    published_ref = models.CharField(_("发布文号"), max_length=200)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), default=timezone.now)

    class Meta:
        verbose_name = _("年度节假日安排")
        verbose_name_plural = _("年度节假日安排")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year} {self.published_ref}"


# ---------------------------------------------------------------------------------------------
# In-app notifications (see xinyidai/core/notifications.py)
# ---------------------------------------------------------------------------------------------
class Notification(models.Model):
    """One notice to one user, shown under the bell until it is read."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("类型"), max_length=64)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True, default="")
    url = models.CharField(_("链接"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="core_notif_user_unread")
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.kind} → {self.user_id}"

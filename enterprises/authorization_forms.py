"""Forms of the authorisation pages (授权) and the page versions of their list filters."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from enterprises.filters import AccessLogFilter, AuthorizationFilter
from enterprises.models import SCOPE_DESCRIPTIONS, AuthorizationPurpose, AuthorizationScope
from xinyidai.core.errors import DomainError
from xinyidai.permissions import BANK_ROLES, ENTERPRISE_ROLES, Role, has_role

ALL_BANKS = "all"  # the grantee "every bank on the platform" (matching only): a null bank


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


def bank_choices() -> list[tuple[str, str]]:
    from banks.models import Bank

    return [(str(pk), name) for pk, name in Bank.objects.order_by("name").values_list("pk", "name")]


def show_domain_error(form: forms.Form, exc: DomainError) -> None:
    """The service's message above the form; its field errors under the fields they name."""
    form.add_error(None, exc.message)
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    for name, problems in detail.items():
        if name not in form.fields:
            continue
        texts = [p for p in problems if isinstance(p, str)] if isinstance(problems, list) else []
        form.add_error(name, texts or exc.message)


class ReauthForm(forms.Form):
    """Re-entering the password (or a TOTP / recovery code) confirms a grant or a renewal."""

    password = forms.CharField(
        label=_("登录密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("为确认是您本人操作，请再次输入登录密码。"),
    )
    otp_code = forms.CharField(
        label=_("动态验证码（已启用双因素认证时可代替密码）"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("password") and not (data.get("otp_code") or "").strip():
            self.add_error("password", _("请输入登录密码，或填写动态验证码"))
        return data


def _valid_until_field() -> forms.DateField:
    return forms.DateField(
        label=_("截止日期"),
        required=False,
        widget=DateInput(),
    )


def _valid_until_help() -> str:
    return str(
        _("含当日（北京时间 23:59:59）。留空默认 %(default)d 个月，最长 %(longest)d 个月。")
        % {
            "default": settings.AUTHORIZATION_DEFAULT_MONTHS,
            "longest": settings.AUTHORIZATION_MAX_MONTHS,
        }
    )


class AuthorizationForm(ReauthForm):
    grantee_bank = forms.ChoiceField(label=_("被授权银行"))
    scope = forms.ChoiceField(
        label=_("授权范围"), choices=AuthorizationScope.choices, widget=forms.RadioSelect
    )
    purpose = forms.ChoiceField(
        label=_("授权用途"), choices=[("", _("请选择")), *AuthorizationPurpose.choices]
    )
    valid_from = forms.DateTimeField(
        label=_("生效时间"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=DateTimeLocalInput(),
        help_text=_("留空表示立即生效"),
    )
    valid_until = _valid_until_field()

    field_order = ["grantee_bank", "scope", "purpose", "valid_from", "valid_until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bank = self.fields["grantee_bank"]
        assert isinstance(bank, forms.ChoiceField)
        bank.choices = [
            ("", _("请选择银行")),
            (ALL_BANKS, _("平台全部银行（仅融资对接）")),
            *bank_choices(),
        ]
        self.fields["valid_until"].help_text = _valid_until_help()

    def scope_options(self) -> list[dict[str, Any]]:
        """The scope radios with what each lets the bank read."""
        return [
            {"widget": option, "description": SCOPE_DESCRIPTIONS[option.data["value"]]}
            for option in self["scope"].subwidgets
        ]

    def grantee_bank_id(self) -> int | None:
        value = self.cleaned_data["grantee_bank"]
        return None if value == ALL_BANKS else int(value)


class RenewForm(ReauthForm):
    valid_until = _valid_until_field()

    field_order = ["valid_until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["valid_until"].help_text = _valid_until_help()


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("撤销原因"),
        required=False,
        max_length=200,
        help_text=_("选填；会记入授权历史和账本。撤销立即生效，银行此后的查询将被拒绝。"),
    )


# ---------------------------------------------------------------------------------------------
# List filters: the shared FilterSets, with selects and date pickers, and only the fields that
# make sense for the viewer's role
# ---------------------------------------------------------------------------------------------
def _only(filterset: django_filters.FilterSet, names: list[str]) -> None:
    """Keep these filters, in this order; date filters get a date picker."""
    kept = {name: filterset.filters[name] for name in names}
    for f in kept.values():
        if isinstance(f, django_filters.DateFilter):
            f.extra["widget"] = DateInput()
        if isinstance(f, django_filters.ChoiceFilter):
            f.extra["empty_label"] = _("全部")
    filterset.filters = kept


class AuthorizationPageFilter(AuthorizationFilter):
    grantee_bank = django_filters.ChoiceFilter(label=_("被授权银行"), method="by_bank")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["grantee_bank"].extra["choices"] = [
            (ALL_BANKS, _("平台全部银行（融资对接）")),
            *bank_choices(),
        ]
        if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
            who = ["grantee_bank", "enterprise"]
        elif has_role(user, *ENTERPRISE_ROLES):
            who = ["grantee_bank"]
        elif has_role(user, *BANK_ROLES):
            who = ["enterprise"]
        else:
            who = []
        _only(self, ["state", "scope", "purpose", *who, "granted_from", "granted_to"])

    def by_bank(self, qs: Any, name: str, value: str) -> Any:
        if value == ALL_BANKS:
            return qs.filter(grantee_bank__isnull=True)
        return qs.filter(grantee_bank_id=value)


class AccessLogPageFilter(AccessLogFilter):
    bank = django_filters.ChoiceFilter(label=_("银行"), field_name="bank_id")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["bank"].extra["choices"] = bank_choices()
        if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
            who = ["enterprise", "bank", "user"]
        elif has_role(user, *ENTERPRISE_ROLES):
            who = ["bank"]
        elif has_role(user, Role.BANK_ADMIN):
            who = ["enterprise", "user"]
        else:  # an officer sees their own reads only
            who = ["enterprise"]
        _only(self, [*who, "scope", "purpose", "since", "until"])

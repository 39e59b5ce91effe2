"""Forms of the application pages. The service functions check everything again; these forms
only turn text into numbers and dates and keep what the user typed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from banks.models import GuaranteeMethod, RepaymentMethod
from enterprises.authorization_forms import DateInput, ReauthForm
from lending.models import ApplicationKind, ApplicationStatus, RejectReason

AMOUNT = {"max_digits": 18, "decimal_places": 2, "min_value": Decimal("0.01")}
RATE = {"max_digits": 7, "decimal_places": 4, "min_value": Decimal("0.0001")}


def _purpose() -> forms.CharField:
    return forms.CharField(
        label=_("资金用途"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如：采购原材料、支付货款")}),
    )


class ConfirmFields(ReauthForm):
    """The password or code of `ReauthForm`, but optional here: it is needed only when a new
    authorisation is granted, and the service says so (`reauth_failed` under `password`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _(
            "提交即向银行授权查询贵企业的信用数据，请再次输入登录密码确认。"
        )

    def clean(self) -> dict[str, Any]:
        return forms.Form.clean(self) or {}


class ApplyForm(ConfirmFields):
    amount = forms.DecimalField(label=_("申请金额（元）"), **AMOUNT)  # type: ignore[arg-type]
    term_months = forms.IntegerField(label=_("申请期限（月）"), min_value=1, max_value=360)
    repayment_method = forms.ChoiceField(label=_("还款方式"), choices=RepaymentMethod.choices)
    purpose = _purpose()

    field_order = ["amount", "term_months", "repayment_method", "purpose", "password", "otp_code"]

    def __init__(self, *args: Any, offered: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if offered:
            field = self.fields["repayment_method"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(v, label) for v, label in RepaymentMethod.choices if v in offered]


class DemandForm(ConfirmFields):
    amount = forms.DecimalField(label=_("融资金额（元）"), **AMOUNT)  # type: ignore[arg-type]
    term_months = forms.IntegerField(label=_("期限（月）"), min_value=1, max_value=360)
    preferred_guarantee = forms.ChoiceField(
        label=_("意向担保方式"),
        required=False,
        choices=[("", _("不限")), *GuaranteeMethod.choices],
    )
    purpose = _purpose()

    field_order = [
        "amount",
        "term_months",
        "preferred_guarantee",
        "purpose",
        "password",
        "otp_code",
    ]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("说明"), required=False, max_length=300)


class ContactForm(forms.Form):
    reason = forms.CharField(
        label=_("联系情况"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("如：电话联系法定代表人，约定实地走访")}),
    )


class ApproveForm(ReasonForm):
    approved_amount = forms.DecimalField(label=_("批准金额（元）"), **AMOUNT)  # type: ignore[arg-type]
    approved_rate = forms.DecimalField(label=_("年利率（%）"), **RATE)  # type: ignore[arg-type]
    approved_term_months = forms.IntegerField(label=_("期限（月）"), min_value=1, max_value=360)
    approved_repayment_method = forms.ChoiceField(
        label=_("还款方式"), choices=RepaymentMethod.choices
    )
    field_order = [
        "approved_amount",
        "approved_rate",
        "approved_term_months",
        "approved_repayment_method",
        "reason",
    ]


class RejectForm(ReasonForm):
    reject_reason = forms.ChoiceField(label=_("拒绝原因"), choices=RejectReason.choices)
    field_order = ["reject_reason", "reason"]


class DisburseForm(forms.Form):
    disbursed_amount = forms.DecimalField(label=_("放款金额（元）"), **AMOUNT)  # type: ignore[arg-type]
    disbursed_rate = forms.DecimalField(label=_("执行年利率（%）"), **RATE)  # type: ignore[arg-type]
    disbursed_on = forms.DateField(label=_("放款日期"), widget=DateInput())
    contract_number = forms.CharField(label=_("合同编号"), max_length=64)
    disbursed_guarantee_method = forms.ChoiceField(
        label=_("担保方式"), choices=GuaranteeMethod.choices
    )
    guarantee_party = forms.CharField(label=_("担保或风险分担方"), required=False, max_length=200)


MOVE_FORMS: dict[str, type[forms.Form]] = {
    "accept": ReasonForm,
    "contact": ContactForm,
    "start_review": ReasonForm,
    "approve": ApproveForm,
    "reject": RejectForm,
    "disburse": DisburseForm,
    "close": ReasonForm,
    "withdraw": ReasonForm,
}


class ApplicationFilter(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部")), *ApplicationStatus.choices]
    )
    kind = forms.ChoiceField(
        label=_("类型"), required=False, choices=[("", _("全部")), *ApplicationKind.choices]
    )
    queue = forms.ChoiceField(
        label=_("范围"),
        required=False,
        choices=[
            ("", _("全部")),
            ("mine", _("我受理的")),
            ("pool", _("待接单")),
        ],
    )
    overdue = forms.BooleanField(label=_("只看超时"), required=False)
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("申请编号或企业名称")}),
    )

"""Forms of the loan-product pages: the marketplace filters, the terms form, the moves and the
management list's filter. Forms check types only; `banks.products.clean_terms` checks the rules
and names every fault, which `show_domain_error` puts under the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from banks.api.products import SORTS
from banks.models import (
    Bank,
    GuaranteeMethod,
    LoanKind,
    LoanProduct,
    ProductStatus,
    RepaymentMethod,
)
from enterprises import reference
from enterprises.authorization_forms import show_domain_error
from enterprises.models import EnterpriseScale
from xinyidai.core.errors import DomainError

SORT_CHOICES = [
    ("rate", _("利率从低到高")),
    ("-amount", _("额度从高到低")),
    ("term", _("期限从长到短")),
    ("newest", _("最新发布")),
]
assert {value for value, _label in SORT_CHOICES} == set(SORTS)

GRADE_CHOICES = [("", _("不限")), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]
TAX_GRADE_CHOICES = [("", _("不限")), ("A", "A"), ("B", "B"), ("M", "M"), ("C", "C"), ("D", "D")]
INDUSTRY_CHOICES = [(code, f"{code} {name}") for code, name in reference.INDUSTRY_SECTIONS.items()]


def _field(name: str) -> models.Field[Any, Any]:
    field = LoanProduct._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _label(name: str) -> Any:
    return _field(name).verbose_name


def _checkboxes(name: str, choices: Any) -> forms.MultipleChoiceField:
    # not required here: the service says "至少选择一种…" when a list must not be empty
    return forms.MultipleChoiceField(
        label=_label(name),
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


# ---------------------------------------------------------------------------------------------
# The marketplace (金融产品超市)
# ---------------------------------------------------------------------------------------------
class MarketFilterForm(forms.Form):
    """The page version of the marketplace API's query parameters (same names)."""

    amount = forms.DecimalField(
        label=_("需要金额（元）"),
        required=False,
        min_value=0,
        max_digits=18,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": _("例如 500000")}),
    )
    term = forms.IntegerField(
        label=_("需要期限（月）"),
        required=False,
        min_value=1,
        max_value=360,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": _("例如 12")}),
    )
    kind = forms.MultipleChoiceField(
        label=_("产品类型"),
        choices=LoanKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    rate_max = forms.DecimalField(
        label=_("可接受最高年利率（%）"),
        required=False,
        min_value=0,
        max_digits=7,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": _("例如 4.5")}),
    )
    bank = forms.ChoiceField(label=_("银行"), required=False)
    guarantee = forms.ChoiceField(
        label=_("担保方式"),
        required=False,
        choices=[("", _("不限")), *GuaranteeMethod.choices],
    )
    q = forms.CharField(
        label=_("关键词"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("产品或银行名称")}),
    )
    risk_compensation = forms.BooleanField(label=_("只看纳入风险补偿资金池的产品"), required=False)
    eligible = forms.BooleanField(label=_("只看我能申请的"), required=False)
    sort = forms.ChoiceField(label=_("排序"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, enterprise_user: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bank = self.fields["bank"]
        assert isinstance(bank, forms.ChoiceField)
        banks = Bank.objects.filter(products__listed=True).distinct().order_by("name")
        bank.choices = [("", _("全部银行")), *((str(b.pk), b.name) for b in banks)]
        if not enterprise_user:
            del self.fields["eligible"]

    def query(self) -> QueryDict:
        """The cleaned filters as the API's query parameters, which `market_queryset` reads."""
        data = self.cleaned_data
        params = QueryDict(mutable=True)
        for name in ("amount", "term", "rate_max", "bank", "guarantee", "q"):
            if data.get(name) not in (None, ""):
                params[name] = str(data[name])
        params.setlist("kind", data.get("kind") or [])
        if data.get("risk_compensation"):
            params["risk_compensation"] = "1"
        params["sort"] = data.get("sort") or "rate"
        return params

    def active(self) -> bool:
        """Whether a filter narrows the list (on a phone the filters then start open)."""
        if not self.is_valid():
            return True
        return any(self.cleaned_data.get(name) for name in self.fields if name != "sort")


# ---------------------------------------------------------------------------------------------
# A bank's product: one form for all terms
# ---------------------------------------------------------------------------------------------
class ProductForm(forms.Form):
    code = forms.CharField(
        label=_label("code"),
        max_length=32,
        help_text=_("本行内唯一，创建后不能修改，例如 KC-01"),
    )
    name = forms.CharField(label=_label("name"), max_length=100)
    kind = forms.ChoiceField(label=_label("kind"), choices=[("", _("请选择")), *LoanKind.choices])
    guarantee_methods = _checkboxes("guarantee_methods", GuaranteeMethod.choices)
    repayment_methods = _checkboxes("repayment_methods", RepaymentMethod.choices)
    amount_min = forms.DecimalField(
        label=_label("amount_min"),
        max_digits=18,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": _("例如 100000")}),
    )
    amount_max = forms.DecimalField(
        label=_label("amount_max"),
        max_digits=18,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": _("例如 3000000")}),
    )
    rate_min = forms.DecimalField(
        label=_label("rate_min"),
        max_digits=7,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": _("例如 3.45")}),
    )
    rate_max = forms.DecimalField(
        label=_label("rate_max"),
        max_digits=7,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": _("例如 4.35")}),
    )
    term_min = forms.IntegerField(
        label=_label("term_min"), widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    term_max = forms.IntegerField(
        label=_label("term_max"), widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    description = forms.CharField(
        label=_label("description"), required=False, widget=forms.Textarea
    )
    # eligibility (准入条件): blank means no condition
    min_grade = forms.ChoiceField(label=_label("min_grade"), required=False, choices=GRADE_CHOICES)
    min_tax_grade = forms.ChoiceField(
        label=_label("min_tax_grade"), required=False, choices=TAX_GRADE_CHOICES
    )
    min_years = forms.IntegerField(
        label=_label("min_years"),
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("留空表示不限"),
    )
    min_registered_capital = forms.DecimalField(
        label=_label("min_registered_capital"),
        required=False,
        min_value=0,
        max_digits=18,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("留空表示不限"),
    )
    industries = _checkboxes("industries", INDUSTRY_CHOICES)
    towns = _checkboxes("towns", reference.TOWN_CHOICES)
    scales = _checkboxes("scales", EnterpriseScale.choices)
    no_serious_record = forms.BooleanField(
        label=_label("no_serious_record"), required=False, initial=True
    )
    required_scope = forms.ChoiceField(
        label=_label("required_scope"),
        choices=_field("required_scope").choices or [],
        initial="portrait",
        help_text=_("企业申请时须向本行授权的数据范围"),
    )
    risk_compensation = forms.BooleanField(label=_label("risk_compensation"), required=False)

    def __init__(self, *args: Any, with_code: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_code:
            del self.fields["code"]

    def terms(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k in LoanProduct.TERM_FIELDS}


def show_terms_error(form: ProductForm, exc: DomainError) -> None:
    """Like `show_domain_error`; when every fault sits under its field, the line above the form
    only says so (the service's own summary names the first field by its code)."""
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    if exc.code == "invalid_terms" and detail and set(detail) <= set(form.fields):
        exc = DomainError(exc.code, gettext("产品条款有误，请按标红的提示修改。"), detail=detail)
    show_domain_error(form, exc)


# ---------------------------------------------------------------------------------------------
# Moves and the management list
# ---------------------------------------------------------------------------------------------
class MoveForm(forms.Form):
    reason = forms.CharField(label=_("原因"), required=False, max_length=300)


class ProductManageFilter(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部")), *ProductStatus.choices]
    )
    q = forms.CharField(
        label=_("关键词"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("产品名称或编码")}),
    )

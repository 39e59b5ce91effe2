"""Forms of the recommended-list pages. The services check everything again; these forms turn
text into numbers, dates and choices and keep what the user typed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from banks.models import Bank
from enterprises import reference
from enterprises.authorization_forms import DateInput
from lending import lists
from lending.models import (
    GRADE_CHOICES,
    DeclineReason,
    FeedbackStatus,
    RecommendationCriteria,
    RecommendationListStatus,
)

TOWNS = reference.TOWN_CHOICES
INDUSTRIES = [(k, f"{k} {v}") for k, v in reference.INDUSTRY_SECTIONS.items()]


def _any(choices: list[tuple[str, Any]], label: Any) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class CriteriaForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    description = forms.CharField(label=_("说明"), max_length=300, required=False)
    min_grade = forms.ChoiceField(
        label=_("信用良好：最低信用等级"), choices=GRADE_CHOICES, initial="B"
    )
    min_years = forms.IntegerField(
        label=_("依法合规经营：成立满（年）"), min_value=0, max_value=lists.MAX_YEARS, initial=1
    )
    penalty_years = forms.IntegerField(
        label=_("依法合规经营：近几年无严重行政处罚"),
        min_value=1,
        max_value=lists.MAX_YEARS,
        initial=3,
    )
    serious_years = forms.IntegerField(
        label=_("贷款用途合法合规：近几年无失信被执行人、严重失信记录"),
        min_value=1,
        max_value=lists.MAX_YEARS,
        initial=3,
    )
    require_premises = forms.BooleanField(
        label=_("固定经营场所：须有登记住所"), required=False, initial=True
    )
    need_demand_only = forms.BooleanField(
        label=_("真实融资需求：仅认可融资需求或期内贷款申请（不含仅授权对接）"), required=False
    )
    require_opt_in = forms.BooleanField(
        label=_("须已授权融资对接（只有授权的企业才会分配给银行）"), required=False, initial=True
    )
    towns = forms.MultipleChoiceField(
        label=_("镇街（不选为全部）"),
        choices=TOWNS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    industries = forms.MultipleChoiceField(
        label=_("行业门类（不选为全部）"),
        choices=INDUSTRIES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    @classmethod
    def initial_of(cls, criteria: RecommendationCriteria) -> dict[str, Any]:
        return {name: getattr(criteria, name) for name in lists.CRITERIA_FIELDS}


class ListCreateForm(forms.Form):
    criteria = forms.ModelChoiceField(
        label=_("推荐条件"),
        queryset=RecommendationCriteria.objects.filter(is_active=True).order_by("name"),
    )
    title = forms.CharField(label=_("清单名称"), max_length=200)
    period_start = forms.DateField(label=_("期间自"), widget=DateInput())
    period_end = forms.DateField(label=_("期间至"), widget=DateInput())


class ListFilter(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"),
        choices=_any(RecommendationListStatus.choices, _("全部")),
        required=False,
    )
    q = forms.CharField(label=_("编号或名称"), max_length=100, required=False)


class EntryFilter(forms.Form):
    shown = forms.ChoiceField(
        label=_("范围"),
        choices=[("listed", _("在清单中")), ("removed", _("已移出")), ("all", _("全部"))],
        required=False,
    )
    q = forms.CharField(label=_("企业名称或代码"), max_length=100, required=False)
    town = forms.ChoiceField(label=_("镇街"), choices=_any(TOWNS, _("全部")), required=False)
    industry = forms.ChoiceField(
        label=_("行业门类"), choices=_any(INDUSTRIES, _("全部")), required=False
    )
    grade = forms.ChoiceField(
        label=_("信用等级"), choices=_any(GRADE_CHOICES, _("全部")), required=False
    )
    bank = forms.ModelChoiceField(
        label=_("对接银行"), queryset=Bank.objects.order_by("name"), required=False
    )
    feedback = forms.ChoiceField(
        label=_("银行反馈"), choices=_any(FeedbackStatus.choices, _("全部")), required=False
    )


class BankEntryFilter(forms.Form):
    list = forms.IntegerField(widget=forms.HiddenInput, required=False)
    q = forms.CharField(label=_("企业名称或代码"), max_length=100, required=False)
    feedback = forms.ChoiceField(
        label=_("反馈状态"), choices=_any(FeedbackStatus.choices, _("全部")), required=False
    )


class AllocateForm(forms.Form):
    banks = forms.ModelMultipleChoiceField(
        label=_("对接银行"),
        queryset=Bank.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
    )
    towns = forms.MultipleChoiceField(
        label=_("只分配这些镇街（不选为全部）"),
        choices=TOWNS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    industries = forms.MultipleChoiceField(
        label=_("只分配这些行业门类（不选为全部）"),
        choices=INDUSTRIES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reallocate = forms.BooleanField(label=_("重新分配已分配但尚无反馈的企业"), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=300, required=False)


class FeedbackForm(forms.Form):
    move = forms.ChoiceField(
        label=_("对接结果"),
        choices=[
            ("contact", _("已联系")),
            ("grant", _("已授信")),
            ("decline", _("未授信")),
        ],
        widget=forms.RadioSelect,
    )
    amount = forms.DecimalField(
        label=_("授信金额（元）"),
        max_digits=18,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )
    decline_reason = forms.ChoiceField(
        label=_("未授信原因"), choices=_any(DeclineReason.choices, ""), required=False
    )
    note = forms.CharField(label=_("说明"), max_length=300, required=False)

    def __init__(self, *args: Any, allowed: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if allowed is not None:
            field = self.fields["move"]
            assert isinstance(field, forms.ChoiceField)
            labels = {"contact": _("已联系"), "grant": _("已授信"), "decline": _("未授信")}
            field.choices = [(move, labels[move]) for move in labels if move in allowed]

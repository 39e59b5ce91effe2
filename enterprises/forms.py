from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from enterprises import reference, uscc
from enterprises.models import ClaimStatus, EnterpriseRole, EnterpriseStatus, RecordType


class UsccField(forms.CharField):
    """Accepts what people type; cleans to the normalised code or lists every fault found."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("label", _("统一社会信用代码"))
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def clean(self, value: object) -> str:
        raw = super().clean(value)
        result = uscc.check(raw)
        if not result.valid or result.normalized is None:
            raise forms.ValidationError([p.message for p in result.errors], code="invalid_uscc")
        return result.normalized


class ClaimForm(forms.Form):
    uscc = UsccField(help_text=_("18位，见营业执照；空格、横线、全角字符和小写字母均可"))
    name = forms.CharField(label=_("企业名称"), max_length=200)
    legal_rep_name = forms.CharField(label=_("法定代表人姓名"), max_length=100)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("审核结果"), choices=[("approve", _("通过")), ("reject", _("驳回"))]
    )
    reason = forms.CharField(label=_("审核意见"), max_length=500, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("驳回时请填写理由"))
        return data


class EnterpriseInviteForm(forms.Form):
    email = forms.EmailField(label=_("受邀邮箱"))
    role = forms.ChoiceField(
        label=_("角色"),
        choices=[(EnterpriseRole.ADMIN, _("管理员")), (EnterpriseRole.MEMBER, _("成员"))],
        initial=EnterpriseRole.MEMBER,
    )


class RegistryFilterForm(forms.Form):
    q = forms.CharField(label=_("名称或代码"), required=False)
    town = forms.ChoiceField(
        label=_("镇街/园区"), required=False, choices=[("", _("全部")), *reference.TOWN_CHOICES]
    )
    industry_section = forms.ChoiceField(
        label=_("行业门类"),
        required=False,
        choices=[
            ("", _("全部")),
            *[(k, f"{k} {v}") for k, v in reference.INDUSTRY_SECTIONS.items()],
        ],
    )
    status = forms.ChoiceField(
        label=_("登记状态"), required=False, choices=[("", _("全部")), *EnterpriseStatus.choices]
    )


class ClaimFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("open", _("待处理")), ("", _("全部")), *ClaimStatus.choices],
    )


class RecordFilterForm(forms.Form):
    record_type = forms.ChoiceField(
        label=_("记录类型"), required=False, choices=[("", _("全部")), *RecordType.choices]
    )
    year = forms.IntegerField(label=_("年份"), required=False, min_value=1949, max_value=2100)


class AccessReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("查询事由"),
        min_length=4,
        max_length=200,
        help_text=_("例如：处理异议申请 YY-2026-0012；每次查询都会记入访问记录和账本。"),
    )

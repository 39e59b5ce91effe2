from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from banks.models import BankRole, Branch
from enterprises import reference
from enterprises.forms import UsccField


class BankForm(forms.Form):
    name = forms.CharField(label=_("机构名称"), max_length=200)
    fi_code = forms.CharField(
        label=_("金融机构编码"), max_length=32, help_text=_("14位，首位为字母")
    )
    uscc = UsccField()
    admin_email = forms.EmailField(label=_("银行管理员邮箱"), required=False)


class BranchForm(forms.Form):
    name = forms.CharField(label=_("网点名称"), max_length=200)
    town = forms.ChoiceField(
        label=_("镇街/园区"), required=False, choices=[("", "—"), *reference.TOWN_CHOICES]
    )
    address = forms.CharField(label=_("地址"), max_length=300, required=False)


class BankInviteForm(forms.Form):
    email = forms.EmailField(label=_("受邀邮箱"))
    role = forms.ChoiceField(label=_("角色"), choices=BankRole.choices, initial=BankRole.OFFICER)
    branch = forms.ModelChoiceField(
        label=_("所属网点"), queryset=Branch.objects.none(), required=False
    )

    def __init__(self, *args: object, bank_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["branch"].queryset = Branch.objects.filter(bank_id=bank_id)  # type: ignore[attr-defined]

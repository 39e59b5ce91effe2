from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from xinyidai.permissions import Role, has_mfa, requires_mfa, roles_of


@dataclass(frozen=True)
class NextAction:
    title: str
    description: str
    url: str
    badge: int | None = None


def public_stats() -> dict[str, int]:
    from banks.models import Bank
    from enterprises.models import Enterprise

    return {"enterprises": Enterprise.objects.count(), "banks": Bank.objects.count()}


def next_actions(user: Any) -> list[NextAction]:
    from enterprises.models import ClaimStatus, EnterpriseClaim

    roles = roles_of(user)
    actions: list[NextAction] = []
    if not roles or roles == {Role.SUPERUSER}:
        open_claims = EnterpriseClaim.objects.filter(
            user=user, status__in=[ClaimStatus.PENDING, ClaimStatus.DISPUTED]
        ).count()
        if not user.platform_role:
            actions.append(
                NextAction(
                    _("认领企业"),
                    _("输入统一社会信用代码、企业名称和法定代表人姓名，认领您的企业。"),
                    reverse("enterprise_claim"),
                )
            )
        if open_claims:
            actions.append(
                NextAction(
                    _("查看认领进度"),
                    _("您有认领申请正在等待信用办审核。"),
                    reverse("claim_list"),
                    open_claims,
                )
            )
    if roles & {Role.ENTERPRISE_OWNER, Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_MEMBER}:
        actions.append(
            NextAction(_("我的企业"), _("查看企业登记信息和成员。"), reverse("my_enterprise"))
        )
    if Role.ENTERPRISE_OWNER in roles:
        actions.append(
            NextAction(
                _("邀请同事"),
                _("邀请企业的管理员和成员加入平台。"),
                reverse("my_enterprise") + "#invite",
            )
        )
    if roles & {Role.BANK_ADMIN, Role.BANK_OFFICER}:
        actions.append(NextAction(_("本行信息"), _("查看本行网点和人员。"), reverse("my_bank")))
    if Role.BANK_ADMIN in roles:
        actions.append(
            NextAction(
                _("管理网点与人员"),
                _("新增网点，邀请客户经理。"),
                reverse("my_bank") + "#invite",
            )
        )
    if Role.CREDIT_OFFICE in roles:
        waiting = EnterpriseClaim.objects.filter(
            status__in=[ClaimStatus.PENDING, ClaimStatus.DISPUTED]
        ).count()
        actions += [
            NextAction(
                _("审核企业认领"),
                _("审核待处理和有争议的企业认领申请。"),
                reverse("office_claims"),
                waiting,
            ),
            NextAction(
                _("企业登记库"), _("按镇街、行业、状态查询企业。"), reverse("enterprise_registry")
            ),
            NextAction(
                _("信用数据导入"),
                _("上传各部门报送的信用记录文件，查看拒收明细。"),
                reverse("import_list"),
            ),
            NextAction(
                _("数据质量"),
                _("各部门报送数据的错码率、及时性和公示期。"),
                reverse("data_quality"),
            ),
            NextAction(_("银行机构"), _("登记银行并邀请其管理员。"), reverse("bank_registry")),
        ]
    if Role.TRADING_CENTRE in roles:
        actions.append(
            NextAction(
                _("核验统一社会信用代码"),
                _("核对投标人统一社会信用代码是否有效。"),
                reverse("uscc_check_page"),
            )
        )
    if Role.SUPERUSER in roles:
        actions.append(NextAction(_("系统管理"), _("Django 管理后台。"), reverse("admin:index")))
    if requires_mfa(user) and not has_mfa(user):
        actions.insert(
            0,
            NextAction(
                _("启用双因素认证"),
                _("您的角色必须使用动态验证码登录。"),
                reverse("mfa_activate_totp"),
            ),
        )
    actions.append(
        NextAction(_("账户安全"), _("修改密码、邮箱和双因素认证。"), reverse("mfa_index"))
    )
    return actions

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from xinyidai.permissions import Role, bank_membership_of, enterprise_membership_of, roles_of


def platform(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    roles = roles_of(user)
    return {
        "mfa_enforced": settings.MFA_ENFORCED,
        "roles": {r.value for r in roles},
        "Role": Role,
        "my_enterprise_membership": enterprise_membership_of(user),
        "my_bank_membership": bank_membership_of(user),
    }

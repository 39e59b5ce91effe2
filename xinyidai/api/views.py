from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from xinyidai.api.serializers import MeSerializer, TokenInputSerializer, TokenSerializer
from xinyidai.core.audit import audit
from xinyidai.core.errors import DomainError
from xinyidai.core.reauth import second_factor_ok
from xinyidai.permissions import (
    bank_membership_of,
    enterprise_membership_of,
    has_mfa,
    requires_mfa,
    roles_of,
)


def me_payload(user: Any) -> dict[str, Any]:
    em = enterprise_membership_of(user)
    bm = bank_membership_of(user)
    return {
        "email": user.email,
        "full_name": user.full_name,
        "roles": sorted(r.value for r in roles_of(user)),
        "mfa_enabled": has_mfa(user),
        "mfa_required": requires_mfa(user),
        "enterprise": (
            {"uscc": em.enterprise.uscc, "name": em.enterprise.name, "role": em.role}
            if em
            else None
        ),
        "bank": (
            {
                "id": bm.bank_id,
                "name": bm.bank.name,
                "role": bm.role,
                "branch": bm.branch.name if bm.branch else None,
            }
            if bm
            else None
        ),
    }


class MeView(APIView):
    """Who am I: e-mail, roles, enterprise and bank."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(me_payload(request.user))


class TokenView(APIView):
    """Exchange e-mail + password (+ a TOTP code for bank and credit-office roles) for an API
    token. The same token is returned until it is deleted."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenInputSerializer, responses=TokenSerializer)
    def post(self, request: Request) -> Response:
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["email"].lower(),
            password=data.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise DomainError("invalid_credentials", _("邮箱或密码错误"), status=401)
        if requires_mfa(user):
            if not has_mfa(user):
                raise DomainError(
                    "mfa_required", _("您的角色须先在网页上启用双因素认证（TOTP）"), status=403
                )
            if not second_factor_ok(user, data.validated_data["otp_code"]):
                raise DomainError(
                    "otp_invalid", _("请提供有效的动态验证码（otp_code）"), status=401
                )
        token, created = Token.objects.get_or_create(user=user)
        if created:
            audit(actor=user, action="api_token.created", obj=user)
        return Response({"token": token.key})

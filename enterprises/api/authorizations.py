"""Authorisations, the access trail and the ledger's public anchors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprises import authorization as services
from enterprises.filters import AccessLogFilter, AuthorizationFilter
from enterprises.letters import render_authorization_letter
from enterprises.models import (
    AccessLog,
    Authorization,
    AuthorizationPurpose,
    AuthorizationScope,
)
from xinyidai.core.errors import DomainError
from xinyidai.core.models import LedgerAnchor, LedgerCheck, LedgerHead
from xinyidai.permissions import (
    ENTERPRISE_ROLES,
    HasRole,
    Role,
    access_logs_visible_to,
    authorizations_visible_to,
    enterprise_membership_of,
)


@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeField(serializers.Field):
    """ "2027-11-22" means through the end of that day (Beijing time); a full ISO date-time is
    taken as given."""

    default_error_messages = {"invalid": _("日期格式应为 YYYY-MM-DD 或 ISO 8601 日期时间")}

    def to_internal_value(self, data: Any) -> datetime:
        text = str(data).strip()
        try:
            if len(text) == 10:
                return services.end_of_day(date.fromisoformat(text))
            value = datetime.fromisoformat(text)
        except ValueError:
            self.fail("invalid")
        return value if timezone.is_aware(value) else timezone.make_aware(value)

    def to_representation(self, value: Any) -> str:
        return str(timezone.localtime(value).isoformat())


class AuthorizationSerializer(serializers.ModelSerializer):
    enterprise = serializers.SerializerMethodField()
    grantee_bank = serializers.SerializerMethodField()
    grantee_name = serializers.CharField(read_only=True)
    scope_name = serializers.CharField(source="get_scope_display", read_only=True)
    purpose_name = serializers.CharField(source="get_purpose_display", read_only=True)
    state = serializers.SerializerMethodField()
    state_name = serializers.CharField(source="get_state_display", read_only=True)
    granted_by = serializers.SerializerMethodField()
    renewed_from = serializers.SerializerMethodField()
    letter_url = serializers.SerializerMethodField()
    allowed_moves = serializers.SerializerMethodField()

    class Meta:
        model = Authorization
        fields = [
            "id",
            "number",
            "enterprise",
            "grantee_bank",
            "grantee_name",
            "scope",
            "scope_name",
            "purpose",
            "purpose_name",
            "valid_from",
            "valid_until",
            "status",
            "state",
            "state_name",
            "granted_by",
            "granted_at",
            "ended_at",
            "end_reason",
            "renewed_from",
            "digest",
            "letter_url",
            "allowed_moves",
        ]

    def get_enterprise(self, obj: Authorization) -> dict[str, str]:
        return {"uscc": obj.enterprise.uscc, "name": obj.enterprise.name}

    def get_grantee_bank(self, obj: Authorization) -> dict[str, Any] | None:
        bank = obj.grantee_bank
        return {"id": bank.pk, "name": bank.name, "fi_code": bank.fi_code} if bank else None

    def get_state(self, obj: Authorization) -> str:
        return obj.state()

    def get_granted_by(self, obj: Authorization) -> str:
        return obj.granted_by.get_full_name()

    def get_renewed_from(self, obj: Authorization) -> str | None:
        return obj.renewed_from.number if obj.renewed_from else None

    def get_letter_url(self, obj: Authorization) -> str:
        return reverse("api-authorization-letter", args=[obj.pk])

    def get_allowed_moves(self, obj: Authorization) -> list[str]:
        return services.allowed_moves(obj)


class ReauthSerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False, allow_blank=True, write_only=True, style={"input_type": "password"}
    )
    otp_code = serializers.CharField(required=False, allow_blank=True, write_only=True)


class AuthorizationInputSerializer(ReauthSerializer):
    grantee_bank = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="银行 id；null 表示平台全部银行"
    )
    scope = serializers.ChoiceField(choices=AuthorizationScope.choices)
    purpose = serializers.ChoiceField(choices=AuthorizationPurpose.choices)
    valid_from = DateOrDateTimeField(required=False, allow_null=True, default=None)
    valid_until = DateOrDateTimeField(required=False, allow_null=True, default=None)


class RenewInputSerializer(ReauthSerializer):
    valid_until = DateOrDateTimeField(required=False, allow_null=True, default=None)


class RevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class AuthorizationListCreateView(generics.ListAPIView[Authorization]):
    """Authorisations you gave (enterprise), received (bank) or all (credit office).
    Filters: state, scope, purpose, grantee_bank, all_banks, enterprise, granted_from/to."""

    serializer_class = AuthorizationSerializer
    filterset_class = AuthorizationFilter

    def get_queryset(self) -> QuerySet[Authorization]:
        return authorizations_visible_to(self.request.user).order_by("-granted_at", "-id")

    @extend_schema(request=AuthorizationInputSerializer, responses={201: AuthorizationSerializer})
    def post(self, request: Request) -> Response:
        """Grant (enterprise owner or admin; re-enter the password or give `otp_code`)."""
        membership = enterprise_membership_of(request.user)
        if membership is None:
            raise DomainError(
                "not_enterprise_admin",
                _("只有企业的所有者或管理员可以授权、续期或撤销授权。"),
                status=403,
            )
        data = AuthorizationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        authorization = services.authorization_grant(
            actor=request.user,
            enterprise=membership.enterprise,
            grantee_bank_id=v["grantee_bank"],
            scope=v["scope"],
            purpose=v["purpose"],
            valid_from=v["valid_from"],
            valid_until=v["valid_until"],
            password=v.get("password", ""),
            otp_code=v.get("otp_code", ""),
        )
        return Response(AuthorizationSerializer(authorization).data, status=status.HTTP_201_CREATED)


def _visible(request: Request, pk: int) -> Authorization:
    return get_object_or_404(authorizations_visible_to(request.user), pk=pk)


class AuthorizationDetailView(APIView):
    @extend_schema(responses=AuthorizationSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(AuthorizationSerializer(_visible(request, pk)).data)


class AuthorizationRevokeView(APIView):
    permission_classes = [HasRole.of(*ENTERPRISE_ROLES)]

    @extend_schema(request=RevokeInputSerializer, responses=AuthorizationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """Revoke at once (owner or admin); the next read by the bank is refused."""
        _visible(request, pk)
        data = RevokeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        authorization = services.authorization_revoke(
            actor=request.user, authorization_id=pk, reason=data.validated_data["reason"]
        )
        return Response(AuthorizationSerializer(authorization).data)


class AuthorizationRenewView(APIView):
    permission_classes = [HasRole.of(*ENTERPRISE_ROLES)]

    @extend_schema(request=RenewInputSerializer, responses={201: AuthorizationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Renew: a new authorisation with the same terms from now (answers the new one)."""
        _visible(request, pk)
        data = RenewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        new = services.authorization_renew(
            actor=request.user,
            authorization_id=pk,
            valid_until=v["valid_until"],
            password=v.get("password", ""),
            otp_code=v.get("otp_code", ""),
        )
        return Response(AuthorizationSerializer(new).data, status=status.HTTP_201_CREATED)


def letter_response(request: Any, authorization: Authorization) -> HttpResponse:
    verify = request.build_absolute_uri(reverse("ledger_anchors"))
    pdf = render_authorization_letter(services.letter(authorization, verify_url=verify))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{authorization.number}.pdf"'
    return response


class AuthorizationLetterView(APIView):
    """The authorisation letter (授权书) as PDF, with its number and SM3 digest."""

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        return letter_response(request, _visible(request, pk))


class AccessLogSerializer(serializers.ModelSerializer):
    enterprise = serializers.SerializerMethodField()
    user = serializers.SerializerMethodField()
    bank = serializers.SerializerMethodField()
    authorization = serializers.SerializerMethodField()

    class Meta:
        model = AccessLog
        fields = [
            "id",
            "at",
            "enterprise",
            "user",
            "role",
            "bank",
            "scope",
            "purpose",
            "reason",
            "authorization",
            "path",
            "client_ip",
            "ledger_seq",
        ]

    def get_enterprise(self, obj: AccessLog) -> dict[str, str]:
        return {"uscc": obj.enterprise.uscc, "name": obj.enterprise.name}

    def get_user(self, obj: AccessLog) -> dict[str, Any]:
        return {"id": obj.user_id, "name": obj.user.get_full_name(), "email": obj.user.email}

    def get_bank(self, obj: AccessLog) -> dict[str, Any] | None:
        return {"id": obj.bank.pk, "name": obj.bank.name} if obj.bank else None

    def get_authorization(self, obj: AccessLog) -> str | None:
        return obj.authorization.number if obj.authorization else None


class AccessLogView(generics.ListAPIView[AccessLog]):
    """Reads of enterprise data: an enterprise sees reads of its own, a bank admin those by its
    staff, an officer their own, the credit office all. Filters: enterprise, bank, user,
    scope, purpose, since, until."""

    serializer_class = AccessLogSerializer
    filterset_class = AccessLogFilter

    def get_queryset(self) -> QuerySet[AccessLog]:
        return access_logs_visible_to(self.request.user).order_by("-at", "-id")


class LedgerAnchorSerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerAnchor
        fields = ["day", "seq", "hash", "mac", "created_at"]


class LedgerAnchorsView(generics.ListAPIView[LedgerAnchor]):
    """Public: the chain's head at the end of each day, with its MAC. Keep a copy — a later
    rewrite of the ledger cannot match an anchor held outside the platform."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    serializer_class = LedgerAnchorSerializer
    queryset = LedgerAnchor.objects.order_by("-day")


class LedgerStatusView(APIView):
    """The chain's head and the latest full verification (credit office)."""

    permission_classes = [HasRole.of(Role.CREDIT_OFFICE, Role.SUPERUSER)]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        head = LedgerHead.objects.filter(pk=1).first()
        check = LedgerCheck.objects.order_by("-ran_at").first()
        return Response(
            {
                "head": {"seq": head.seq, "hash": head.hash} if head else None,
                "last_check": (
                    {
                        "ran_at": check.ran_at,
                        "ok": check.ok,
                        "entries": check.entries,
                        "first_bad_seq": check.first_bad_seq,
                        "problem": check.problem,
                        "seconds": check.seconds,
                    }
                    if check
                    else None
                ),
            }
        )

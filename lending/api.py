"""Loan applications over the API: submit, list, and the workflow's moves."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lending import services
from lending.models import ApplicationStatus, LoanApplication, RejectReason
from xinyidai.core.errors import DomainError


class ApplicationSerializer(serializers.ModelSerializer):
    enterprise = serializers.SerializerMethodField()
    bank = serializers.SerializerMethodField()
    product = serializers.SerializerMethodField()
    status_name = serializers.CharField(source="get_status_display", read_only=True)
    officer = serializers.SerializerMethodField()
    authorization = serializers.CharField(source="authorization.number", read_only=True)
    allowed_moves = serializers.SerializerMethodField()

    class Meta:
        model = LoanApplication
        fields = [
            "id",
            "number",
            "enterprise",
            "bank",
            "product",
            "amount",
            "term_months",
            "repayment_method",
            "purpose",
            "status",
            "status_name",
            "officer",
            "submitted_at",
            "accepted_at",
            "decided_at",
            "approved_amount",
            "approved_rate",
            "approved_term_months",
            "approved_repayment_method",
            "reject_reason",
            "reject_note",
            "disbursed_amount",
            "disbursed_on",
            "disbursed_rate",
            "contract_number",
            "guarantee_party",
            "authorization",
            "allowed_moves",
        ]

    def get_enterprise(self, obj: LoanApplication) -> dict[str, str]:
        return {"uscc": obj.enterprise.uscc, "name": obj.enterprise.name}

    def get_bank(self, obj: LoanApplication) -> dict[str, Any]:
        return {"id": obj.bank_id, "name": obj.bank.name}

    def get_product(self, obj: LoanApplication) -> dict[str, Any]:
        version = obj.product_version
        return {"id": version.product_id, "name": version.name, "version": version.number}

    def get_officer(self, obj: LoanApplication) -> str | None:
        return obj.officer.get_full_name() if obj.officer else None

    def get_allowed_moves(self, obj: LoanApplication) -> list[str]:
        return services.allowed_moves(obj)


class SubmitSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    term_months = serializers.IntegerField(min_value=1, max_value=360)
    repayment_method = serializers.CharField(max_length=20)
    purpose = serializers.CharField(max_length=200)
    password = serializers.CharField(required=False, allow_blank=True, write_only=True)
    otp_code = serializers.CharField(required=False, allow_blank=True, write_only=True)


class ApplicationListCreateView(generics.ListAPIView[LoanApplication]):
    """Your applications (enterprise), those made to your bank, or all (credit office);
    `?status=`. POST: an enterprise owner or admin applies to a listed product."""

    serializer_class = ApplicationSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        qs = services.applications_visible_to(self.request.user)
        if value := self.request.query_params.get("status", ""):
            if value not in ApplicationStatus.values:
                raise DomainError("invalid_filter", _("状态无效"), detail={"status": [value]})
            qs = qs.filter(status=value)
        return qs.select_related("officer", "authorization").order_by("-submitted_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(ApplicationStatus.values))
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SubmitSerializer, responses={201: ApplicationSerializer})
    def post(self, request: Request) -> Response:
        data = SubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.application_submit(
            actor=request.user,
            product_id=v["product"],
            amount=v["amount"],
            term_months=v["term_months"],
            repayment_method=v["repayment_method"],
            purpose=v["purpose"],
            password=v.get("password", ""),
            otp_code=v.get("otp_code", ""),
        )
        if result.blocked is not None:
            # answered, not raised: the punishment feedback is kept
            return Response(
                {
                    "code": "joint_punishment",
                    "message": result.blocked.detail,
                    "detail": {"records": result.blocked.records},
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        assert result.application is not None
        return Response(
            ApplicationSerializer(result.application).data, status=status.HTTP_201_CREATED
        )


class ApplicationDetailView(APIView):
    @extend_schema(responses=ApplicationSerializer)
    def get(self, request: Request, pk: int) -> Response:
        application = get_object_or_404(services.applications_visible_to(request.user), pk=pk)
        return Response(ApplicationSerializer(application).data)


class MoveSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    approved_amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    approved_rate = serializers.DecimalField(max_digits=7, decimal_places=4, required=False)
    approved_term_months = serializers.IntegerField(required=False)
    approved_repayment_method = serializers.CharField(required=False, max_length=20)
    reject_reason = serializers.ChoiceField(choices=RejectReason.choices, required=False)
    disbursed_amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    disbursed_rate = serializers.DecimalField(max_digits=7, decimal_places=4, required=False)
    disbursed_on = serializers.DateField(required=False)
    contract_number = serializers.CharField(required=False, max_length=64)
    guarantee_party = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ApplicationMoveView(APIView):
    """accept (接单) · start-review · approve · reject · disburse (放款反馈) · close · withdraw.
    A move the status does not allow answers 409 with the allowed moves."""

    move = ""

    @extend_schema(request=MoveSerializer, responses=ApplicationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        get_object_or_404(services.applications_visible_to(request.user), pk=pk)
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        reason = fields.pop("reason", "")
        application = services.application_move(
            actor=request.user, application_id=pk, move=self.move, reason=reason, **fields
        )
        return Response(ApplicationSerializer(application).data)

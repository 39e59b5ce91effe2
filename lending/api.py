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

from banks.models import GuaranteeMethod
from lending import services, sla
from lending.models import (
    ApplicationKind,
    ApplicationStatus,
    LoanApplication,
    RejectReason,
)
from xinyidai.core.errors import DomainError


class ApplicationSerializer(serializers.ModelSerializer):
    enterprise = serializers.SerializerMethodField()
    bank = serializers.SerializerMethodField()
    product = serializers.SerializerMethodField()
    status_name = serializers.CharField(source="get_status_display", read_only=True)
    officer = serializers.SerializerMethodField()
    authorization = serializers.CharField(
        source="authorization.number", read_only=True, allow_null=True, default=None
    )
    allowed_moves = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    sla_note = serializers.SerializerMethodField()

    class Meta:
        model = LoanApplication
        fields = [
            "id",
            "number",
            "kind",
            "enterprise",
            "bank",
            "product",
            "amount",
            "term_months",
            "repayment_method",
            "purpose",
            "preferred_guarantee",
            "status",
            "status_name",
            "officer",
            "submitted_at",
            "accepted_at",
            "first_contact_at",
            "decided_at",
            "pickup_due",
            "contact_due",
            "decision_due",
            "overdue",
            "sla_note",
            "pool_rounds",
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
            "disbursed_guarantee_method",
            "first_loan",
            "authorization",
            "allowed_moves",
        ]

    def get_enterprise(self, obj: LoanApplication) -> dict[str, str]:
        return {"uscc": obj.enterprise.uscc, "name": obj.enterprise.name}

    def get_bank(self, obj: LoanApplication) -> dict[str, Any] | None:
        """None for a demand still in the pool."""
        return {"id": obj.bank_id, "name": obj.bank.name} if obj.bank else None

    def get_product(self, obj: LoanApplication) -> dict[str, Any] | None:
        """None for a financing demand."""
        version = obj.product_version
        if version is None:
            return None
        return {"id": version.product_id, "name": version.name, "version": version.number}

    def get_overdue(self, obj: LoanApplication) -> list[str]:
        """The service-level stages that are late now: pickup, contact, decision."""
        return sla.overdue_stages(obj)

    def get_sla_note(self, obj: LoanApplication) -> str:
        """Non-empty when a deadline was counted on weekends only (a year without holidays)."""
        return sla.assumed_note(obj.sla_assumed_years)

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


def submission_response(result: services.Submission) -> Response:
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
    return Response(ApplicationSerializer(result.application).data, status=status.HTTP_201_CREATED)


class DemandSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    term_months = serializers.IntegerField(min_value=1, max_value=360)
    purpose = serializers.CharField(max_length=200)
    preferred_guarantee = serializers.ChoiceField(
        choices=GuaranteeMethod.choices, required=False, allow_blank=True, default=""
    )
    password = serializers.CharField(required=False, allow_blank=True, write_only=True)
    otp_code = serializers.CharField(required=False, allow_blank=True, write_only=True)


class PlanSerializer(serializers.Serializer):
    bank = serializers.SerializerMethodField()
    scope = serializers.CharField()
    scope_name = serializers.CharField()
    existing_authorization = serializers.SerializerMethodField()
    needs_grant = serializers.BooleanField()
    products = serializers.ListField(child=serializers.IntegerField())

    def get_bank(self, plan: services.AuthorizationPlan) -> dict[str, Any]:
        return {"id": plan.bank_id, "name": plan.bank_name}

    def get_existing_authorization(self, plan: services.AuthorizationPlan) -> str | None:
        return plan.existing.number if plan.existing else None


class DemandPreviewView(APIView):
    """Which banks a financing demand would go to, and the authorisation each would get
    (reused or new, scope) — what the enterprise confirms. Nothing is written."""

    @extend_schema(request=DemandSerializer, responses=PlanSerializer(many=True))
    def post(self, request: Request) -> Response:
        data = DemandSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        enterprise = services.granter_enterprise(request.user)
        plans = services.demand_plans(
            enterprise,
            amount=v["amount"],
            term_months=v["term_months"],
            guarantee=v.get("preferred_guarantee", ""),
        )
        return Response(PlanSerializer(plans, many=True).data)


class DemandCreateView(APIView):
    """Post a financing demand (融资需求) to every eligible bank; the first to accept it gets
    it (抢单). Confirm with `password` or `otp_code` when new authorisations are granted."""

    @extend_schema(request=DemandSerializer, responses={201: ApplicationSerializer})
    def post(self, request: Request) -> Response:
        data = DemandSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.demand_submit(
            actor=request.user,
            amount=v["amount"],
            term_months=v["term_months"],
            purpose=v["purpose"],
            preferred_guarantee=v.get("preferred_guarantee", ""),
            password=v.get("password", ""),
            otp_code=v.get("otp_code", ""),
        )
        return submission_response(result)


class ApplicationListCreateView(generics.ListAPIView[LoanApplication]):
    """Your applications (enterprise), those made to your bank, or all (credit office);
    `?status=`. POST: an enterprise owner or admin applies to a listed product."""

    serializer_class = ApplicationSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        qs = services.applications_visible_to(self.request.user)
        params = self.request.query_params
        if value := params.get("status", ""):
            if value not in ApplicationStatus.values:
                raise DomainError("invalid_filter", _("状态无效"), detail={"status": [value]})
            qs = qs.filter(status=value)
        if value := params.get("kind", ""):
            if value not in ApplicationKind.values:
                raise DomainError("invalid_filter", _("类型无效"), detail={"kind": [value]})
            qs = qs.filter(kind=value)
        if params.get("overdue") in {"1", "true"}:
            qs = qs.filter(sla.any_overdue_q())
        return qs.select_related("officer", "authorization").order_by("-submitted_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(ApplicationStatus.values)),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(ApplicationKind.values)),
            OpenApiParameter("overdue", OpenApiTypes.BOOL, description="only late ones"),
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
        return submission_response(result)


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
    disbursed_guarantee_method = serializers.ChoiceField(
        choices=GuaranteeMethod.choices, required=False
    )


class ApplicationMoveView(APIView):
    """accept (接单) · contact (首次联系, status unchanged) · start-review · approve · reject ·
    disburse (放款反馈) · close · withdraw.
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

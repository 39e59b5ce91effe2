"""Recommended lists over the API (`/api/v1/recommended-lists/…`) and the demo receiver of the
national platform (`/api/v1/national/receive/`)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprises import reference
from lending import lists, national, push
from lending.models import (
    DeclineReason,
    FeedbackStatus,
    NationalDelivery,
    RecommendationCriteria,
    RecommendationEntry,
    RecommendationList,
    RecommendationListStatus,
)
from xinyidai.core.errors import DomainError
from xinyidai.permissions import BANK_ROLES, HasRole

OFFICE_PERMISSIONS = [*APIView.permission_classes, HasRole.of(*lists.OFFICE_ROLES)]
BANK_PERMISSIONS = [*APIView.permission_classes, HasRole.of(*BANK_ROLES)]


# ---------------------------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------------------------
class CriteriaSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecommendationCriteria
        fields = [
            "id",
            "name",
            "description",
            "version",
            "min_grade",
            "min_years",
            "penalty_years",
            "serious_years",
            "require_premises",
            "need_demand_only",
            "require_opt_in",
            "towns",
            "industries",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "created_at", "updated_at"]


class CriteriaInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    min_grade = serializers.ChoiceField(choices=["A", "B", "C", "D"], required=False)
    min_years = serializers.IntegerField(min_value=0, max_value=lists.MAX_YEARS, required=False)
    penalty_years = serializers.IntegerField(min_value=1, max_value=lists.MAX_YEARS, required=False)
    serious_years = serializers.IntegerField(min_value=1, max_value=lists.MAX_YEARS, required=False)
    require_premises = serializers.BooleanField(required=False)
    need_demand_only = serializers.BooleanField(required=False)
    require_opt_in = serializers.BooleanField(required=False)
    towns = serializers.ListField(
        child=serializers.ChoiceField(choices=reference.TOWN_CHOICES), required=False
    )
    industries = serializers.ListField(
        child=serializers.ChoiceField(choices=list(reference.INDUSTRY_SECTIONS)), required=False
    )
    is_active = serializers.BooleanField(required=False)


class CriteriaListCreateView(generics.ListAPIView[RecommendationCriteria]):
    """The credit office's recommendation criteria; POST defines a new one."""

    serializer_class = CriteriaSerializer
    permission_classes = OFFICE_PERMISSIONS
    filter_backends: list[Any] = []
    queryset = RecommendationCriteria.objects.order_by("name", "id")

    @extend_schema(request=CriteriaInputSerializer, responses={201: CriteriaSerializer})
    def post(self, request: Request) -> Response:
        data = CriteriaInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        criteria = lists.criteria_create(actor=request.user, **data.validated_data)
        return Response(CriteriaSerializer(criteria).data, status=status.HTTP_201_CREATED)


class CriteriaDetailView(APIView):
    permission_classes = OFFICE_PERMISSIONS

    @extend_schema(responses=CriteriaSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(CriteriaSerializer(get_object_or_404(RecommendationCriteria, pk=pk)).data)

    @extend_schema(request=CriteriaInputSerializer, responses=CriteriaSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        """Edit (the version goes up; lists keep the snapshot they were generated with)."""
        get_object_or_404(RecommendationCriteria, pk=pk)
        data = CriteriaInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        criteria = lists.criteria_update(actor=request.user, criteria_id=pk, **data.validated_data)
        return Response(CriteriaSerializer(criteria).data)


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------
class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = NationalDelivery
        fields = [
            "chunk",
            "chunks",
            "idempotency_key",
            "seq_from",
            "seq_to",
            "rows",
            "status",
            "attempts",
            "next_attempt_at",
            "sending_until",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "receipt",
            "delivered_at",
        ]


class ListSerializer(serializers.ModelSerializer):
    criteria = serializers.SerializerMethodField()
    status_name = serializers.CharField(source="get_status_display", read_only=True)
    allowed_moves = serializers.SerializerMethodField()
    delivery = serializers.SerializerMethodField()

    class Meta:
        model = RecommendationList
        fields = [
            "id",
            "number",
            "title",
            "criteria",
            "criteria_snapshot",
            "period_start",
            "period_end",
            "status",
            "status_name",
            "entry_count",
            "created_at",
            "generated_at",
            "approved_at",
            "allowed_moves",
            "delivery",
        ]

    def get_criteria(self, obj: RecommendationList) -> dict[str, Any]:
        return {"id": obj.criteria_id, "name": obj.criteria.name}

    def get_allowed_moves(self, obj: RecommendationList) -> list[str]:
        return lists.allowed_moves(obj)

    def get_delivery(self, obj: RecommendationList) -> dict[str, Any]:
        """`state`: "" (not approved), pushing, delivered (every chunk confirmed) or failed."""
        state = lists.delivery_state(obj)
        return {"state": state.code, "chunks": state.total, "by_status": state.by_status}


class ListDetailSerializer(ListSerializer):
    counts = serializers.SerializerMethodField()
    deliveries = serializers.SerializerMethodField()

    class Meta(ListSerializer.Meta):
        fields = [*ListSerializer.Meta.fields, "counts", "deliveries"]

    def get_counts(self, obj: RecommendationList) -> dict[str, Any]:
        c = lists.list_counts(obj)
        return {
            "listed": c.listed,
            "removed": c.removed,
            "allocated": c.allocated,
            "feedback": c.feedback,
            "granted_amount": str(c.granted_amount),
        }

    @extend_schema_field(DeliverySerializer(many=True))
    def get_deliveries(self, obj: RecommendationList) -> list[dict[str, Any]]:
        return list(DeliverySerializer(obj.deliveries.order_by("chunk"), many=True).data)


class ListCreateSerializer(serializers.Serializer):
    criteria = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    period_start = serializers.DateField()
    period_end = serializers.DateField()


class ListListCreateView(generics.ListAPIView[RecommendationList]):
    """The recommended lists (credit office), newest first, `?status=`; POST makes a draft."""

    serializer_class = ListSerializer
    permission_classes = OFFICE_PERMISSIONS
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        qs = lists.lists_visible_to(self.request.user)
        if value := self.request.query_params.get("status", ""):
            if value not in RecommendationListStatus.values:
                raise DomainError("invalid_filter", _("状态无效"), detail={"status": [value]})
            qs = qs.filter(status=value)
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(RecommendationListStatus.values))
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ListCreateSerializer, responses={201: ListSerializer})
    def post(self, request: Request) -> Response:
        data = ListCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        reclist = lists.list_create(
            actor=request.user,
            criteria_id=v["criteria"],
            title=v["title"],
            period_start=v["period_start"],
            period_end=v["period_end"],
        )
        return Response(ListSerializer(reclist).data, status=status.HTTP_201_CREATED)


class ListDetailView(APIView):
    permission_classes = OFFICE_PERMISSIONS

    @extend_schema(responses=ListDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        reclist = get_object_or_404(lists.lists_visible_to(request.user), pk=pk)
        return Response(ListDetailSerializer(reclist).data)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class ListMoveView(APIView):
    """generate (again: the entries are replaced) · approve (writes the national push) ·
    cancel (`reason`) · push (make waiting chunks due now) · repush (chunks given up).
    A move the status does not allow answers 409 with the allowed moves."""

    permission_classes = OFFICE_PERMISSIONS
    move = ""

    @extend_schema(request=ReasonSerializer, responses=ListDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        get_object_or_404(lists.lists_visible_to(request.user), pk=pk)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reason = data.validated_data["reason"]
        user = request.user
        if self.move == "generate":
            lists.list_generate(actor=user, list_id=pk)
        elif self.move == "approve":
            lists.list_approve(actor=user, list_id=pk, reason=reason)
        elif self.move == "cancel":
            lists.list_cancel(actor=user, list_id=pk, reason=reason)
        elif self.move == "push":
            push.list_push_now(actor=user, list_id=pk)
        elif self.move == "repush":
            push.list_repush(actor=user, list_id=pk)
        reclist = RecommendationList.objects.select_related("criteria").get(pk=pk)
        return Response(ListDetailSerializer(reclist).data)


class AllocateSerializer(serializers.Serializer):
    banks = serializers.ListField(child=serializers.IntegerField(), min_length=1)
    towns = serializers.ListField(
        child=serializers.ChoiceField(choices=reference.TOWN_CHOICES), required=False
    )
    industries = serializers.ListField(
        child=serializers.ChoiceField(choices=list(reference.INDUSTRY_SECTIONS)), required=False
    )
    reallocate = serializers.BooleanField(required=False, default=False)


class AllocationSerializer(serializers.Serializer):
    allocated = serializers.DictField(child=serializers.IntegerField())
    without_consent = serializers.IntegerField()
    already_allocated = serializers.IntegerField()


class ListAllocateView(APIView):
    """Allocate the approved list's enterprises to `banks`, round robin in list order, only to a
    bank the enterprise's matching authorisation covers; `towns`/`industries` narrow it;
    `reallocate` deals again the allocated entries without feedback."""

    permission_classes = OFFICE_PERMISSIONS

    @extend_schema(request=AllocateSerializer, responses=AllocationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        get_object_or_404(lists.lists_visible_to(request.user), pk=pk)
        data = AllocateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = lists.list_allocate(
            actor=request.user,
            list_id=pk,
            bank_ids=v["banks"],
            towns=v.get("towns") or [],
            industries=v.get("industries") or [],
            reallocate=v["reallocate"],
        )
        return Response(
            AllocationSerializer(
                {
                    "allocated": {str(b): n for b, n in result.allocated.items()},
                    "without_consent": result.without_consent,
                    "already_allocated": result.already_allocated,
                }
            ).data
        )


class EntrySerializer(serializers.ModelSerializer):
    bank = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()
    list_number = serializers.CharField(source="list.number", read_only=True)

    class Meta:
        model = RecommendationEntry
        fields = [
            "id",
            "list_number",
            "seq",
            "uscc",
            "name",
            "town",
            "industry_section",
            "grade",
            "score",
            "established",
            "need",
            "opt_in",
            "reasons",
            "removed",
            "removed_reason",
            "removed_at",
            "bank",
            "allocated_at",
            "feedback",
            "contacted_at",
            "granted_amount",
            "decline_reason",
            "feedback_note",
            "feedback_at",
        ]

    def get_bank(self, obj: RecommendationEntry) -> dict[str, Any] | None:
        return {"id": obj.bank_id, "name": obj.bank.name} if obj.bank else None

    def get_reasons(self, obj: RecommendationEntry) -> list[dict[str, str]]:
        """Why it qualified, one line per criterion."""
        return lists.reasons(obj, obj.list.criteria_snapshot)


def _entry_filters(qs: Any, params: Any) -> Any:
    if params.get("removed") in {"1", "true"}:
        qs = qs.filter(removed=True)
    elif params.get("removed") != "all":
        qs = qs.filter(removed=False)
    if town := params.get("town", ""):
        qs = qs.filter(town=town)
    if industry := params.get("industry", ""):
        qs = qs.filter(industry_section=industry)
    if grade := params.get("grade", ""):
        qs = qs.filter(grade=grade)
    if feedback := params.get("feedback", ""):
        if feedback not in FeedbackStatus.values:
            raise DomainError("invalid_filter", _("反馈状态无效"), detail={"feedback": [feedback]})
        qs = qs.filter(feedback=feedback)
    return qs


ENTRY_PARAMETERS = [
    OpenApiParameter("removed", OpenApiTypes.STR, enum=["0", "1", "all"]),
    OpenApiParameter("town", OpenApiTypes.STR),
    OpenApiParameter("industry", OpenApiTypes.STR),
    OpenApiParameter("grade", OpenApiTypes.STR),
    OpenApiParameter("feedback", OpenApiTypes.STR, enum=list(FeedbackStatus.values)),
]


class ListEntriesView(generics.ListAPIView[RecommendationEntry]):
    """The list's enterprises in list order (listed ones; `removed=1` the removed, `all`)."""

    serializer_class = EntrySerializer
    permission_classes = OFFICE_PERMISSIONS
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        reclist = get_object_or_404(lists.lists_visible_to(self.request.user), pk=self.kwargs["pk"])
        qs = RecommendationEntry.objects.filter(list=reclist).select_related("list", "bank")
        return _entry_filters(qs, self.request.query_params).order_by("seq")

    @extend_schema(parameters=ENTRY_PARAMETERS)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class EntryMoveView(APIView):
    """remove (`reason` required) · restore — while the list is under review."""

    permission_classes = OFFICE_PERMISSIONS
    move = ""

    @extend_schema(request=ReasonSerializer, responses=EntrySerializer)
    def post(self, request: Request, pk: int, entry: int) -> Response:
        get_object_or_404(lists.lists_visible_to(request.user), pk=pk)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = lists.entry_remove if self.move == "remove" else lists.entry_restore
        result = service(
            actor=request.user, list_id=pk, entry_id=entry, reason=data.validated_data["reason"]
        )
        return Response(EntrySerializer(result).data)


class AllocatedEntriesView(generics.ListAPIView[RecommendationEntry]):
    """A bank's staff: the enterprises of approved lists allocated to their bank (`?list=`)."""

    serializer_class = EntrySerializer
    permission_classes = BANK_PERMISSIONS
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        qs = lists.entries_allocated_to(self.request.user)
        if (value := self.request.query_params.get("list", "")).isdigit():
            qs = qs.filter(list_id=int(value))
        return _entry_filters(qs, self.request.query_params).order_by("-list__approved_at", "seq")

    @extend_schema(parameters=[OpenApiParameter("list", OpenApiTypes.INT), *ENTRY_PARAMETERS])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class FeedbackSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    decline_reason = serializers.ChoiceField(
        choices=DeclineReason.choices, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class FeedbackView(APIView):
    """contact (已联系) · grant (`amount`, 已授信) · decline (`decline_reason`, `note`, 未授信);
    a move the feedback status does not allow answers 409 with the allowed moves."""

    permission_classes = BANK_PERMISSIONS
    move = ""

    @extend_schema(request=FeedbackSerializer, responses=EntrySerializer)
    def post(self, request: Request, entry: int) -> Response:
        get_object_or_404(lists.entries_allocated_to(request.user), pk=entry)
        data = FeedbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = lists.entry_feedback(
            actor=request.user,
            entry_id=entry,
            move=self.move,
            amount=v.get("amount"),
            decline_reason=v["decline_reason"],
            note=v["note"],
        )
        return Response(EntrySerializer(result).data)


# ---------------------------------------------------------------------------------------------
# The demo receiver of the national platform
# ---------------------------------------------------------------------------------------------
class ReceiptSerializer(serializers.Serializer):
    key = serializers.CharField()
    receipt_id = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    rows = serializers.IntegerField()
    duplicate = serializers.BooleanField()


class NationalReceiveView(APIView):
    """Stand-in for the national platform's receiving end (tests, benchmarks, the demo): no
    sign-in, a signature instead — `X-Timestamp`, `X-Nonce`, `X-Signature` (hex HMAC-SHA256 of
    timestamp + "\\n" + nonce + "\\n" + body with NATIONAL_PLATFORM_SECRET) and
    `Idempotency-Key`. Answers 200 with the receipt, the same for a resend (`duplicate: true`);
    401 for a bad signature, a stale timestamp or a reused nonce."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses=ReceiptSerializer,
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
            for name in (
                national.TIMESTAMP,
                national.NONCE,
                national.SIGNATURE,
                national.IDEMPOTENCY_KEY,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        receipt = national.receive(headers=request.headers, body=request.body)
        return Response(receipt)

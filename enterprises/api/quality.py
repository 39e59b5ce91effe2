"""`GET /api/v1/credit-records/quality/`: the data-quality report for the credit office."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprises import quality
from xinyidai.permissions import HasRole, Role

MONTH_FORMAT = "%Y-%m"


@extend_schema_field(
    {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "example": "2026-10"}
)
class MonthField(serializers.DateField):
    """A month as `YYYY-MM`; read as the date of its 1st."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=MONTH_FORMAT, input_formats=[MONTH_FORMAT], **kwargs)


class QualityQuerySerializer(serializers.Serializer[Any]):
    department = serializers.CharField(required=False, allow_blank=True, default="")
    month_from = MonthField(required=False, allow_null=True, default=None)
    month_to = MonthField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("month_from"), attrs.get("month_to")
        if start and end and start > end:
            raise serializers.ValidationError({"month_to": _("截止月份不能早于起始月份")})
        return attrs


class QualityRowSerializer(serializers.Serializer[Any]):
    department = serializers.CharField()
    month = MonthField()
    received = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    invalid_uscc = serializers.IntegerField()
    invalid_uscc_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    duplicates = serializers.IntegerField()
    missing_required = serializers.IntegerField()
    median_working_days = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True)
    mean_working_days = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    late = serializers.IntegerField()
    late_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    orphans = serializers.IntegerField()
    overdue_active = serializers.IntegerField()


class QualityReportSerializer(serializers.Serializer[Any]):
    rows = QualityRowSerializer(many=True)
    threshold_working_days = serializers.IntegerField()


class CreditRecordQualityView(APIView):
    """Data quality per source department and month of receipt (credit office only).

    Rates are decimals 0..1 (as strings, 4 places); `month`, `month_from` and `month_to` are
    `YYYY-MM` in Beijing time.
    """

    permission_classes = [IsAuthenticated, HasRole.of(Role.CREDIT_OFFICE, Role.SUPERUSER)]

    @extend_schema(parameters=[QualityQuerySerializer], responses=QualityReportSerializer)
    def get(self, request: Request) -> Response:
        query = QualityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = quality.quality_report(user=request.user, **query.validated_data)
        return Response(
            QualityReportSerializer(
                {"rows": rows, "threshold_working_days": quality.timeliness_threshold()}
            ).data
        )

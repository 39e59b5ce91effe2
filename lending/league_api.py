"""`GET /api/v1/lending/league/`: the banks' service league table (服务排名)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lending import league
from xinyidai.permissions import HasRole

DATE_ERRORS: dict[str, Any] = {"invalid": _("请输入有效的日期（YYYY-MM-DD）")}


class LeagueQuerySerializer(serializers.Serializer[Any]):
    """`from` and `to`: submission dates (Beijing), both included; default the last 90 days."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "from" is a Python keyword: declared here rather than as class attributes
        return {
            "from": serializers.DateField(
                required=False, allow_null=True, default=None, error_messages=DATE_ERRORS
            ),
            "to": serializers.DateField(
                required=False, allow_null=True, default=None, error_messages=DATE_ERRORS
            ),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        period = league.resolve_period(attrs.get("from"), attrs.get("to"))
        if errors := league.period_errors(period.start, period.end):
            raise serializers.ValidationError(errors)
        return {"period": period}


class LeagueBankSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _rate() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)


def _hours() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)


class LeagueRowSerializer(serializers.Serializer[Any]):
    bank = LeagueBankSerializer()
    rank = serializers.IntegerField(allow_null=True)
    received = serializers.IntegerField()
    picked_up = serializers.IntegerField()
    pickup_rate = _rate()
    on_time_pickup_rate = _rate()
    median_hours_to_pickup = _hours()
    median_hours_to_decision = _hours()
    approval_rate = _rate()
    disbursed_count = serializers.IntegerField()
    amount_disbursed = serializers.DecimalField(max_digits=20, decimal_places=2)
    credit_loan_share = _rate()
    first_loans = serializers.IntegerField()


class LeagueSerializer(serializers.Serializer[Any]):
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            "banks": LeagueRowSerializer(many=True),
        }


class LeagueView(APIView):
    """Per-bank service figures over applications submitted in the period, in rank order
    (pick-up rate, then median hours to decision, then approval rate); for the credit office
    and banks' admins (who see every bank, to know where theirs stands).

    Rates are decimals 0..1 (strings, 4 places; null without a denominator), hours one
    decimal, amounts CNY with 2 decimals. `rank` is shared by equal keys and null for a bank
    with nothing to rank. See docs/LENDING.md, 服务排名.
    """

    permission_classes = [*APIView.permission_classes, HasRole.of(*league.VIEWER_ROLES)]

    @extend_schema(parameters=[LeagueQuerySerializer], responses=LeagueSerializer)
    def get(self, request: Request) -> Response:
        query = LeagueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period: league.Period = query.validated_data["period"]
        rows = league.league_table(user=request.user, period=period)
        body = {
            "from": period.start,
            "to": period.end,
            "banks": [league.as_record(r) for r in rows],
        }
        return Response(LeagueSerializer(body).data)

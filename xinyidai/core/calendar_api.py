"""API of the holiday calendar: anyone signed in reads a year; the credit office enters days
and confirms a year's schedule."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from xinyidai.api.utils import acting_user
from xinyidai.core import calendar
from xinyidai.core.errors import DomainError
from xinyidai.core.models import CalendarDayKind
from xinyidai.permissions import HasRole, Role


# Kept inline (under allOf) rather than as an enum component: drf-spectacular names enum
# components after the field, and "kind" is taken by other choice sets (loan products).
@extend_schema_field(
    {
        "allOf": [{"type": "string", "enum": list(CalendarDayKind.values)}],
        "description": "holiday: 法定节假日 (off even on a weekday); "
        "workday: 调休上班 (worked even on a weekend)",
    }
)
class DayKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=CalendarDayKind.choices, **kwargs)


class CalendarDaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    kind = DayKindField()
    kind_label = serializers.CharField()
    name = serializers.CharField()
    note = serializers.CharField()
    origin = serializers.ChoiceField(
        choices=[("library", "library"), ("entered", "entered")],
        help_text="library: the chinese_calendar package; entered: the credit office's entry",
    )


class CalendarYearSerializer(serializers.Serializer[Any]):
    year = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=[("library", "library"), ("entered", "entered"), ("assumed", "assumed")],
        help_text="assumed: not complete yet, deadlines count weekends plus the entered days",
    )
    published_ref = serializers.CharField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    days = CalendarDaySerializer(many=True, help_text="holidays and swapped workdays, by date")


class CalendarDayInputSerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    kind = DayKindField()
    name = serializers.CharField(max_length=calendar.NAME_MAX, required=False, allow_blank=True)
    note = serializers.CharField(max_length=calendar.NOTE_MAX, required=False, allow_blank=True)


class CalendarYearConfirmInputSerializer(serializers.Serializer[Any]):
    published_ref = serializers.CharField(max_length=calendar.REF_MAX)


def year_payload(schedule: calendar.YearSchedule) -> dict[str, Any]:
    confirmation = schedule.confirmation
    return {
        "year": schedule.year,
        "status": schedule.status,
        "published_ref": confirmation.published_ref if confirmation else None,
        "confirmed_at": confirmation.confirmed_at if confirmation else None,
        "days": [
            {
                "day": d.day,
                "kind": d.kind,
                "kind_label": d.kind_label,
                "name": d.name,
                "note": d.note,
                "origin": d.origin,
            }
            for d in schedule.days
        ],
    }


def _year_param(raw: str | None) -> int:
    if not raw:
        return calendar.default_year()
    try:
        year = int(raw)
    except ValueError:
        year = 0
    if not calendar.valid_year(year):
        raise DomainError(
            "invalid_year",
            _("年份应为 %(first)d 至 %(last)d 之间的整数")
            % {"first": calendar.earliest_year(), "last": calendar.LATEST_YEAR},
            detail={"year": [raw]},
        )
    return year


EDITORS = HasRole.of(Role.CREDIT_OFFICE, Role.SUPERUSER)


class CalendarDaysView(APIView):
    """A year's holidays and swapped workdays and whether its schedule is known; the credit
    office enters (or changes) one day."""

    def get_permissions(self) -> list[Any]:
        permissions = list(super().get_permissions())
        if self.request.method == "POST":
            permissions.append(EDITORS())
        return permissions

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, description="default: next year (its schedule is due)")
        ],
        responses=CalendarYearSerializer,
    )
    def get(self, request: Request) -> Response:
        year = _year_param(request.query_params.get("year"))
        return Response(
            CalendarYearSerializer(year_payload(calendar.calendar_year_schedule(year))).data
        )

    @extend_schema(request=CalendarDayInputSerializer, responses=CalendarYearSerializer)
    def post(self, request: Request) -> Response:
        data = CalendarDayInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = calendar.calendar_day_set(
            actor=acting_user(request),
            day=data.validated_data["day"],
            kind=data.validated_data["kind"],
            name=data.validated_data.get("name", ""),
            note=data.validated_data.get("note", ""),
        )
        schedule = calendar.calendar_year_schedule(row.day.year)
        return Response(CalendarYearSerializer(year_payload(schedule)).data)


class CalendarYearConfirmView(APIView):
    """The credit office states that a year's schedule is completely entered."""

    permission_classes = [*APIView.permission_classes, EDITORS]

    @extend_schema(request=CalendarYearConfirmInputSerializer, responses=CalendarYearSerializer)
    def post(self, request: Request, year: int) -> Response:
        data = CalendarYearConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        calendar.calendar_year_confirm(
            actor=acting_user(request),
            year=year,
            published_ref=data.validated_data["published_ref"],
        )
        schedule = calendar.calendar_year_schedule(year)
        return Response(CalendarYearSerializer(year_payload(schedule)).data)

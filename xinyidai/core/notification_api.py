"""API of the signed-in user's in-app notices: list (optionally unread only), mark one or all
read. Nobody sees another user's notices."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from xinyidai.api.utils import acting_user
from xinyidai.core import notifications
from xinyidai.core.models import Notification


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at", "is_read"]
        read_only_fields = fields

    def get_is_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class NotificationListView(generics.ListAPIView[Notification]):
    """The user's own notices, newest first."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # for the schema; get_queryset starts from the user

    def get_queryset(self) -> QuerySet[Notification]:
        rows = notifications.notifications_of(acting_user(self.request))
        if self.request.query_params.get("unread", "").lower() in ("true", "1", "yes"):
            rows = rows.filter(read_at__isnull=True)
        return rows

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="true: unread notices only")]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class NotificationReadView(APIView):
    """Mark one of the user's notices read (reading it again keeps the first time)."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        notification = notifications.notification_mark_read(
            user=acting_user(request), notification_id=pk
        )
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllView(APIView):
    """Mark all of the user's unread notices read."""

    @extend_schema(
        request=None,
        responses=inline_serializer("NotificationReadAll", {"marked": serializers.IntegerField()}),
    )
    def post(self, request: Request) -> Response:
        return Response(
            {"marked": notifications.notifications_mark_all_read(user=acting_user(request))}
        )

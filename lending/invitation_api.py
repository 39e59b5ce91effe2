"""Invitations to apply over the API: a bank invites a recommended enterprise (by the `ref` it
was shown), the enterprise lists, accepts or declines."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lending import invitations
from lending.models import InvitationStatus, MatchInvitation
from xinyidai.core.errors import DomainError
from xinyidai.permissions import bank_membership_of


class MatchInvitationSerializer(serializers.ModelSerializer):
    bank = serializers.CharField(source="bank.name", read_only=True)
    product = serializers.SerializerMethodField()
    enterprise = serializers.SerializerMethodField()
    status_name = serializers.CharField(source="get_status_display", read_only=True)
    allowed_moves = serializers.SerializerMethodField()
    apply_url = serializers.SerializerMethodField()

    class Meta:
        model = MatchInvitation
        fields = [
            "id",
            "bank",
            "product",
            "enterprise",
            "message",
            "reasons",
            "status",
            "status_name",
            "created_at",
            "expires_at",
            "responded_at",
            "decline_reason",
            "allowed_moves",
            "apply_url",
        ]

    def get_product(self, obj: MatchInvitation) -> dict[str, Any]:
        return {"id": obj.product_id, "name": obj.product.name}

    def get_enterprise(self, obj: MatchInvitation) -> dict[str, str] | None:
        """The invited enterprise's name and code — for a bank only once it accepted (before,
        the bank knows it by the masked recommendation)."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if bank_membership_of(user) is not None and obj.status != InvitationStatus.ACCEPTED:
            return None
        return {"uscc": obj.enterprise.uscc, "name": obj.enterprise.name}

    def get_allowed_moves(self, obj: MatchInvitation) -> list[str]:
        return invitations.allowed_moves(obj)

    def get_apply_url(self, obj: MatchInvitation) -> str:
        """Where the enterprise applies (the form shows and confirms the authorisation)."""
        return reverse("application_create", args=[obj.product_id])


class InviteSerializer(serializers.Serializer):
    ref = serializers.CharField(max_length=400)
    message = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    reasons = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=10
    )


class ProductInviteView(APIView):
    """Invite a recommended enterprise to apply for this product (bank staff of its bank)."""

    @extend_schema(request=InviteSerializer, responses={201: MatchInvitationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        data = InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitations.invite(
            actor=request.user,
            product_id=pk,
            ref=data.validated_data["ref"],
            message=data.validated_data["message"],
            reasons=data.validated_data["reasons"],
        )
        return Response(
            MatchInvitationSerializer(invitation, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class InvitationListView(generics.ListAPIView[MatchInvitation]):
    """Invitations received (enterprise), sent (bank) or all (credit office); `?status=`."""

    serializer_class = MatchInvitationSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        qs = invitations.invitations_visible_to(self.request.user)
        if value := self.request.query_params.get("status", ""):
            if value not in InvitationStatus.values:
                raise DomainError("invalid_filter", _("状态无效"), detail={"status": [value]})
            qs = qs.filter(status=value)
        return qs.order_by("-created_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(InvitationStatus.values))
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class RespondSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class InvitationMoveView(APIView):
    """accept · decline (with `reason`) — the invited enterprise's owners and admins."""

    move = ""

    @extend_schema(request=RespondSerializer, responses=MatchInvitationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        get_object_or_404(invitations.invitations_visible_to(request.user), pk=pk)
        data = RespondSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitations.respond(
            actor=request.user,
            invitation_id=pk,
            move=self.move,
            reason=data.validated_data["reason"],
        )
        return Response(MatchInvitationSerializer(invitation, context={"request": request}).data)

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from banks import services
from banks.api.serializers import (
    BankInputSerializer,
    BankSerializer,
)
from banks.models import Bank, Branch
from xinyidai.api.serializers import InvitationInputSerializer, InvitationSerializer
from xinyidai.api.utils import accept_url_base, acting_user
from xinyidai.core.errors import DomainError, NotFound


class BankListCreateView(generics.ListAPIView[Bank]):
    """Banks on the platform (public facts: name, codes, branches)."""

    serializer_class = BankSerializer
    queryset = Bank.objects.prefetch_related("branches").order_by("name")

    @extend_schema(request=BankInputSerializer, responses={201: BankSerializer})
    def post(self, request: Request) -> Response:
        data = BankInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bank = services.bank_create(
            actor=acting_user(request),
            name=data.validated_data["name"],
            fi_code=data.validated_data["fi_code"],
            uscc_code=data.validated_data["uscc"],
            admin_email=data.validated_data.get("admin_email", ""),
            accept_url_base=accept_url_base(request, "bank_invitation_accept"),
        )
        return Response(BankSerializer(bank).data, status=status.HTTP_201_CREATED)


class BankDetailView(generics.RetrieveAPIView[Bank]):
    serializer_class = BankSerializer
    queryset = Bank.objects.prefetch_related("branches")


class BankInvitationView(APIView):
    """Bank admins invite officers; the credit office invites a bank's first admin."""

    @extend_schema(request=InvitationInputSerializer, responses={201: InvitationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        bank = Bank.objects.filter(pk=pk).first()
        if bank is None:
            raise NotFound("bank_not_found", _("银行不存在"))
        data = InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        branch = None
        if data.validated_data.get("branch"):
            branch = Branch.objects.filter(pk=data.validated_data["branch"], bank=bank).first()
            if branch is None:
                raise DomainError(
                    "invalid_branch", _("网点不属于本行"), detail={"branch": ["invalid"]}
                )
        invitation = services.bank_invitation_create(
            actor=acting_user(request),
            bank=bank,
            email=data.validated_data["email"],
            role=data.validated_data["role"],
            branch=branch,
            accept_url_base=accept_url_base(request, "bank_invitation_accept"),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from enterprises import access, selectors, services, uscc
from enterprises.api.portrait import READ_PARAMETERS
from enterprises.api.serializers import (
    ClaimDecisionSerializer,
    ClaimInputSerializer,
    ClaimSerializer,
    EnterpriseSerializer,
    UsccCheckSerializer,
)
from enterprises.models import AuthorizationScope, Enterprise, EnterpriseClaim
from xinyidai.api.serializers import InvitationInputSerializer, InvitationSerializer
from xinyidai.api.utils import accept_url_base, acting_user
from xinyidai.core.errors import NotFound
from xinyidai.permissions import HasRole, Role


class UsccCheckView(APIView):
    """Check a unified social credit code (统一社会信用代码). Public."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "uscc_check"

    @extend_schema(
        parameters=[OpenApiParameter("code", OpenApiTypes.STR, required=True)],
        responses=UsccCheckSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(uscc.check(request.query_params.get("code", "")).as_dict())


class EnterpriseListView(generics.ListAPIView[Enterprise]):
    """Enterprises the user may see: their own, or all for the credit office."""

    serializer_class = EnterpriseSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="名称或代码前缀"),
            OpenApiParameter("town", OpenApiTypes.STR),
            OpenApiParameter("status", OpenApiTypes.STR),
            OpenApiParameter("industry_section", OpenApiTypes.STR),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Enterprise]:
        p = self.request.query_params
        return selectors.enterprise_list(
            user=self.request.user,
            q=p.get("q", ""),
            town=p.get("town", ""),
            status=p.get("status", ""),
            industry_section=p.get("industry_section", ""),
        )


class EnterpriseDetailView(APIView):
    """Registry facts (scope `summary` for banks; the credit office states a reason)."""

    @extend_schema(responses=EnterpriseSerializer, parameters=READ_PARAMETERS)
    def get(self, request: Request, uscc: str) -> Response:
        enterprise = selectors.enterprise_for_read(uscc=uscc)
        if enterprise is None:
            raise NotFound("enterprise_not_found", _("企业不存在或您无权查看"))
        access.read(request, enterprise, scope=AuthorizationScope.SUMMARY)
        return Response(EnterpriseSerializer(enterprise).data)


class ClaimListCreateView(generics.ListAPIView[EnterpriseClaim]):
    """Your claims (the credit office sees all; `?status=open` for its queue)."""

    serializer_class = ClaimSerializer

    def get_queryset(self) -> QuerySet[EnterpriseClaim]:
        return selectors.claim_list(
            user=self.request.user, status=self.request.query_params.get("status", "")
        )

    @extend_schema(
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, description="open 或具体状态")]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ClaimInputSerializer, responses={201: ClaimSerializer})
    def post(self, request: Request) -> Response:
        data = ClaimInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = services.claim_submit(
            user=acting_user(request),
            uscc_code=data.validated_data["uscc"],
            name=data.validated_data["name"],
            legal_rep_name=data.validated_data["legal_rep_name"],
        )
        return Response(ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)


class ClaimDecisionView(APIView):
    permission_classes = [HasRole.of(Role.CREDIT_OFFICE)]
    action = "approve"

    @extend_schema(request=ClaimDecisionSerializer, responses=ClaimSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = ClaimDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reason = data.validated_data["reason"]
        user = acting_user(request)
        if self.action == "approve":
            claim = services.claim_approve(claim_id=pk, actor=user, reason=reason)
        else:
            claim = services.claim_reject(claim_id=pk, actor=user, reason=reason)
        return Response(ClaimSerializer(claim).data)


class ClaimWithdrawView(APIView):
    @extend_schema(request=None, responses=ClaimSerializer)
    def post(self, request: Request, pk: int) -> Response:
        claim = services.claim_withdraw(claim_id=pk, user=acting_user(request))
        return Response(ClaimSerializer(claim).data)


class EnterpriseInvitationView(APIView):
    """The owner of an enterprise invites admins and members."""

    @extend_schema(request=InvitationInputSerializer, responses={201: InvitationSerializer})
    def post(self, request: Request, uscc: str) -> Response:
        enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
        if enterprise is None:
            raise NotFound("enterprise_not_found", _("企业不存在或您无权查看"))
        data = InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.enterprise_invitation_create(
            actor=acting_user(request),
            enterprise=enterprise,
            email=data.validated_data["email"],
            role=data.validated_data["role"],
            accept_url_base=accept_url_base(request, "enterprise_invitation_accept"),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

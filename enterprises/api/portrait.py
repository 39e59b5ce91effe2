from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprises import access, portrait, selectors
from enterprises.models import (
    AuthorizationPurpose,
    AuthorizationScope,
    CreditRecord,
    Enterprise,
    RecordType,
)
from enterprises.records import HASHED_FIELDS
from xinyidai.core.errors import DomainError, NotFound

READ_PARAMETERS = [
    OpenApiParameter(
        "purpose",
        OpenApiTypes.STR,
        enum=list(AuthorizationPurpose.values),
        description="银行查询的用途；不填时使用可用的有效授权（记录其用途）",
    ),
    OpenApiParameter(
        "reason",
        OpenApiTypes.STR,
        description="信用办查询事由（必填，或用 X-Access-Reason 头，百分号编码）",
    ),
]


def _enterprise(request: Request, uscc: str, *, scope: str) -> Enterprise:
    """The enterprise, once `access.read` has decided and logged this read at `scope`."""
    enterprise = selectors.enterprise_for_read(uscc=uscc, brief=True)
    if enterprise is None:
        raise NotFound("enterprise_not_found", _("企业不存在或您无权查看"))
    access.read(request, enterprise, scope=scope)
    return enterprise


class SummaryView(APIView):
    """Scope `summary`: grade, score and the reasons behind them."""

    @extend_schema(parameters=READ_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, uscc: str) -> Response:
        enterprise = _enterprise(request, uscc, scope=AuthorizationScope.SUMMARY)
        return Response(portrait.summary(user=request.user, enterprise=enterprise))


class PortraitView(APIView):
    """Grade, score, scheme version, dimension scores, reasons, risk tags and record summary."""

    @extend_schema(parameters=READ_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, uscc: str) -> Response:
        enterprise = _enterprise(request, uscc, scope=AuthorizationScope.PORTRAIT)
        return Response(portrait.portrait(user=request.user, enterprise=enterprise))


class GraphView(APIView):
    """The investment graph around an enterprise (族谱), capped at 500 nodes."""

    @extend_schema(
        parameters=[
            OpenApiParameter("depth", OpenApiTypes.INT, enum=[1, 2, 3]),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=["up", "down", "both"]),
            *READ_PARAMETERS,
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, uscc: str) -> Response:
        enterprise = _enterprise(request, uscc, scope=AuthorizationScope.PORTRAIT)
        depth_text = request.query_params.get("depth", "1")
        direction = request.query_params.get("direction", "both")
        if depth_text not in ("1", "2", "3"):
            raise DomainError(
                "invalid_depth", _("depth 应为 1、2 或 3"), detail={"depth": [depth_text]}
            )
        if direction not in ("up", "down", "both"):
            raise DomainError(
                "invalid_direction",
                _("direction 应为 up、down 或 both"),
                detail={"direction": [direction]},
            )
        return Response(
            portrait.graph_json(
                user=request.user, enterprise=enterprise, depth=int(depth_text), direction=direction
            )
        )


class OwnershipView(APIView):
    """Effective (integrated) ownership of every ultimate holder, beneficial owners (≥ 25 %)
    and the actual controller."""

    @extend_schema(parameters=READ_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, uscc: str) -> Response:
        enterprise = _enterprise(request, uscc, scope=AuthorizationScope.PORTRAIT)
        return Response(portrait.ownership_json(user=request.user, enterprise=enterprise))


class CreditRecordSerializer(serializers.ModelSerializer):
    record_type_name = serializers.CharField(source="get_record_type_display", read_only=True)

    class Meta:
        model = CreditRecord
        # what the record is (the hashed content, less the subject), how long it is shown,
        # and the source data as the department sent it
        fields = [
            "id",
            "record_type_name",
            *(f for f in HASHED_FIELDS if f not in ("uscc", "enterprise_name")),
            "publish_min_until",
            "publish_max_until",
            "raw",
        ]


class RecordsView(generics.ListAPIView[CreditRecord]):
    """Scope `records`: the published credit records with their source documents (`raw`),
    newest first; `?record_type=` and `?year=` filter."""

    serializer_class = CreditRecordSerializer

    def get_queryset(self) -> QuerySet[CreditRecord]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return CreditRecord.objects.none()
        enterprise = _enterprise(self.request, self.kwargs["uscc"], scope="records")
        year = self.request.query_params.get("year", "")
        return portrait.records(
            user=self.request.user,
            enterprise=enterprise,
            record_type=self.request.query_params.get("record_type", ""),
            year=int(year) if year.isdigit() else None,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("record_type", OpenApiTypes.STR, enum=list(RecordType.values)),
            OpenApiParameter("year", OpenApiTypes.INT),
            *READ_PARAMETERS,
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprises import portrait, selectors
from enterprises.models import Enterprise
from xinyidai.core.errors import DomainError, NotFound


def _enterprise(request: Request, uscc: str) -> Enterprise:
    enterprise = selectors.enterprise_get(user=request.user, uscc=uscc, brief=True)
    if enterprise is None:
        raise NotFound("enterprise_not_found", _("企业不存在或您无权查看"))
    return enterprise


class PortraitView(APIView):
    """Grade, score, scheme version, dimension scores, reasons, risk tags and record summary."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, uscc: str) -> Response:
        return Response(portrait.portrait(user=request.user, enterprise=_enterprise(request, uscc)))


class GraphView(APIView):
    """The investment graph around an enterprise (族谱), capped at 500 nodes."""

    @extend_schema(
        parameters=[
            OpenApiParameter("depth", OpenApiTypes.INT, enum=[1, 2, 3]),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=["up", "down", "both"]),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, uscc: str) -> Response:
        enterprise = _enterprise(request, uscc)
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

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, uscc: str) -> Response:
        return Response(
            portrait.ownership_json(user=request.user, enterprise=_enterprise(request, uscc))
        )

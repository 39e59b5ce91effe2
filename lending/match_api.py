"""Matching over the API (融资对接): a bank's recommended enterprises for one of its products,
and an enterprise's recommended products. See docs/LENDING.md, "Matching".

- `GET /api/v1/products/{id}/matches/` — staff of the product's bank and the credit office
  (anyone else: 404, as for the products they do not manage). Only enterprises that opted in
  (a `matching` authorisation to all banks or to this bank) are listed. An enterprise that has
  not authorised the bank (loan application, pre-loan or matching purpose, in force) is shown
  without its identity: a masked name, no USCC, and an opaque `ref` the invitation endpoint
  takes (`POST /api/v1/products/{id}/invitations/`).
- `GET /api/v1/enterprises/{uscc}/recommended-products/` — the enterprise's own members, and
  the credit office with a stated reason (`?reason=` or `X-Access-Reason`, logged as a read at
  the summary scope, as every third-party read is). Banks: 404.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprises import access, reference, selectors
from enterprises.models import AuthorizationScope, Enterprise, EnterpriseScale
from lending import invitations, matching
from lending.eligibility import GRADE_ORDER
from xinyidai.core.errors import Conflict, NotFound
from xinyidai.core.masking import mask_firm_name
from xinyidai.permissions import Role, enterprise_membership_of, has_role, products_managed_by

MAX_MATCHES = 500
MAX_PRODUCTS = 50


# ---------------------------------------------------------------------------------------------
# A product's recommended enterprises
# ---------------------------------------------------------------------------------------------
class MatchQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_MATCHES, default=100)
    town = serializers.ChoiceField(
        choices=list(reference.TOWN_NAMES), required=False, allow_blank=True
    )
    industry = serializers.ChoiceField(
        choices=list(reference.INDUSTRY_SECTIONS), required=False, allow_blank=True
    )
    grade = serializers.ChoiceField(choices=list(GRADE_ORDER), required=False, allow_blank=True)
    has_demand = serializers.BooleanField(required=False, allow_null=True, default=None)

    def filters(self) -> dict[str, Any]:
        data = self.validated_data
        return {key: data[key] for key in matching.FILTERS if data.get(key) not in (None, "")}


class EnterpriseMatchSerializer(serializers.Serializer[Any]):
    ref = serializers.CharField(help_text="不透明的企业标识，邀请申请时使用")
    bank_authorized = serializers.BooleanField(
        help_text="企业已向本行授权（贷款申请、贷前调查或融资对接用途，有效）：显示名称和代码"
    )
    uscc = serializers.CharField(allow_null=True, help_text="未向本行授权时为 null")
    name = serializers.CharField(help_text="未向本行授权时脱敏")
    fit = serializers.IntegerField(help_text="匹配度（见 docs/LENDING.md）")
    grade = serializers.CharField(allow_blank=True)
    score = serializers.IntegerField()
    industry_section = serializers.CharField(allow_blank=True)
    industry_name = serializers.CharField(allow_blank=True)
    town = serializers.CharField(allow_blank=True)
    town_name = serializers.CharField(allow_blank=True)
    scale = serializers.CharField(allow_blank=True)
    scale_name = serializers.CharField(allow_blank=True)
    demand_amount = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    demand_term = serializers.IntegerField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


class MatchProductSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()


class MatchListSerializer(serializers.Serializer[Any]):
    product = MatchProductSerializer()
    count = serializers.IntegerField()
    results = EnterpriseMatchSerializer(many=True)


def match_rows(matches: list[matching.EnterpriseMatch]) -> list[dict[str, Any]]:
    """The matches as the API shows them: identity only where the bank is authorised."""
    known = {
        pk: (name, uscc)
        for pk, name, uscc in Enterprise.objects.filter(
            pk__in=[m.enterprise_id for m in matches]
        ).values_list("pk", "name", "uscc")
    }
    scales = dict(EnterpriseScale.choices)
    rows = []
    for m in matches:
        name, uscc = known.get(m.enterprise_id, ("", ""))
        rows.append(
            {
                "ref": invitations.enterprise_ref(m.enterprise_id),
                "bank_authorized": m.bank_authorized,
                "uscc": uscc if m.bank_authorized else None,
                "name": name if m.bank_authorized else mask_firm_name(name),
                "fit": m.fit,
                "grade": m.grade,
                "score": m.score,
                "industry_section": m.industry_section,
                "industry_name": reference.INDUSTRY_SECTIONS.get(m.industry_section, ""),
                "town": m.town,
                "town_name": reference.TOWN_NAMES.get(m.town, ""),
                "scale": m.scale,
                "scale_name": str(scales.get(m.scale, "")),
                "demand_amount": m.demand_amount,
                "demand_term": m.demand_term,
                "reasons": m.reasons,
            }
        )
    return rows


class ProductMatchesView(APIView):
    """Recommended enterprises for a listed product, best fit first, each with its reasons
    (fit = credit score + bounded bonuses for a fitting financing demand, the city's priority
    industries and towns, and this bank's approvals of similar enterprises). Filters: `town`
    (code), `industry` (GB/T 4754 section), `grade`, `has_demand`; `limit` 1–500."""

    @extend_schema(parameters=[MatchQuerySerializer], responses=MatchListSerializer)
    def get(self, request: Request, pk: int) -> Response:
        product = get_object_or_404(products_managed_by(request.user), pk=pk)
        query = MatchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        version = product.live_version
        if not product.listed or version is None:
            raise Conflict("product_not_listed", _("产品未上架，暂无推荐企业。"))
        matches = matching.rank_enterprises(
            version,
            bank_id=product.bank_id,
            limit=query.validated_data["limit"],
            filters=query.filters(),
        )
        body = {
            "product": {"id": product.pk, "name": version.name, "version": version.number},
            "count": len(matches),
            "results": match_rows(matches),
        }
        return Response(MatchListSerializer(body).data)


# ---------------------------------------------------------------------------------------------
# An enterprise's recommended products
# ---------------------------------------------------------------------------------------------
class ProductQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PRODUCTS, default=20)


class RecommendedBankSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RecommendedProductSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="产品 id（产品超市和申请使用）")
    version = serializers.IntegerField()
    name = serializers.CharField()
    bank = RecommendedBankSerializer()
    kind = serializers.CharField()
    rate_min = serializers.DecimalField(max_digits=7, decimal_places=4)
    rate_max = serializers.DecimalField(max_digits=7, decimal_places=4)
    amount_min = serializers.DecimalField(max_digits=18, decimal_places=2)
    amount_max = serializers.DecimalField(max_digits=18, decimal_places=2)
    term_min = serializers.IntegerField()
    term_max = serializers.IntegerField()
    fit = serializers.IntegerField(help_text="匹配度（见 docs/LENDING.md）")
    demand_fits = serializers.BooleanField(help_text="额度与期限覆盖企业的融资需求")
    approval_rate = serializers.DecimalField(
        max_digits=5, decimal_places=4, allow_null=True, help_text="该行近期审批通过率 0..1"
    )
    reasons = serializers.ListField(child=serializers.CharField())


def product_rows(matches: list[matching.ProductMatch]) -> list[dict[str, Any]]:
    return [
        {
            "id": m.product_id,
            "version": m.version.number,
            "name": m.name,
            "bank": {"id": m.bank_id, "name": m.bank_name},
            "kind": m.version.kind,
            "rate_min": m.version.rate_min,
            "rate_max": m.version.rate_max,
            "amount_min": m.version.amount_min,
            "amount_max": m.version.amount_max,
            "term_min": m.version.term_min,
            "term_max": m.version.term_max,
            "fit": m.fit,
            "demand_fits": m.demand_fits,
            "approval_rate": m.approval_rate,
            "reasons": m.reasons,
        }
        for m in matches
    ]


class RecommendedProductsView(APIView):
    """Listed products the enterprise qualifies for, best fit first, with the reasons (rate,
    whether amount and term cover its open financing demand, the bank's recent approval
    rate). For its own members; the credit office states a reason (`?reason=`)."""

    @extend_schema(
        parameters=[
            ProductQuerySerializer,
            OpenApiParameter("reason", OpenApiTypes.STR, description="信用办查询事由（必填）"),
        ],
        responses=RecommendedProductSerializer(many=True),
    )
    def get(self, request: Request, uscc: str) -> Response:
        query = ProductQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        enterprise = selectors.enterprise_for_read(uscc=uscc)
        user = request.user
        member = enterprise_membership_of(user)
        own = (
            enterprise is not None and member is not None and member.enterprise_id == enterprise.pk
        )
        office = has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER)
        if enterprise is None or not (own or office):
            raise NotFound("enterprise_not_found", _("企业不存在或您无权查看"))
        access.read(request, enterprise, scope=AuthorizationScope.SUMMARY)
        matches = matching.rank_products(enterprise, limit=query.validated_data["limit"])
        return Response(RecommendedProductSerializer(product_rows(matches), many=True).data)

"""Loan products: the public marketplace (金融产品超市) and the banks' and office's management."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from banks import products as services
from banks.models import (
    GuaranteeMethod,
    LoanKind,
    LoanProduct,
    LoanProductVersion,
    ProductStatus,
    RepaymentMethod,
)
from lending import eligibility
from xinyidai.core.errors import DomainError
from xinyidai.permissions import enterprise_membership_of, products_managed_by

TERMS = list(LoanProduct.TERM_FIELDS)
SORTS = {
    "rate": ("rate_min", "-amount_max", "id"),
    "-amount": ("-amount_max", "rate_min", "id"),
    "term": ("-term_max", "rate_min", "id"),
    "newest": ("-published_at", "id"),
}


def _labels(codes: list[str], choices: Any) -> list[str]:
    names = dict(choices.choices)
    return [str(names.get(c, c)) for c in codes]


class TermsInputSerializer(serializers.ModelSerializer):
    """Types only; `banks.products.clean_terms` checks the rules and names every fault."""

    class Meta:
        model = LoanProduct
        fields = ["code", *TERMS]
        extra_kwargs: dict[str, Any] = {"code": {"validators": []}}


class TermsOutputMixin(serializers.Serializer):
    kind_name = serializers.CharField(source="get_kind_display", read_only=True)
    guarantee_names = serializers.SerializerMethodField()
    repayment_names = serializers.SerializerMethodField()

    def get_guarantee_names(self, obj: Any) -> list[str]:
        return _labels(obj.guarantee_methods, GuaranteeMethod)

    def get_repayment_names(self, obj: Any) -> list[str]:
        return _labels(obj.repayment_methods, RepaymentMethod)


class ProductManageSerializer(TermsOutputMixin, serializers.ModelSerializer):
    bank = serializers.SerializerMethodField()
    status_name = serializers.CharField(source="get_status_display", read_only=True)
    live_version = serializers.SerializerMethodField()
    allowed_moves = serializers.SerializerMethodField()

    class Meta:
        model = LoanProduct
        fields = [
            "id",
            "bank",
            "code",
            "status",
            "status_name",
            "listed",
            "live_version",
            "review_note",
            "allowed_moves",
            *TERMS,
            "kind_name",
            "guarantee_names",
            "repayment_names",
            "created_at",
            "updated_at",
        ]

    def get_bank(self, obj: LoanProduct) -> dict[str, Any]:
        return {"id": obj.bank_id, "name": obj.bank.name}

    def get_live_version(self, obj: LoanProduct) -> int | None:
        return obj.live_version.number if obj.live_version else None

    def get_allowed_moves(self, obj: LoanProduct) -> list[str]:
        return services.allowed_moves(obj)


class MarketProductSerializer(TermsOutputMixin, serializers.ModelSerializer):
    id = serializers.IntegerField(source="product_id", read_only=True)
    version = serializers.IntegerField(source="number", read_only=True)
    code = serializers.CharField(source="product.code", read_only=True)
    bank = serializers.SerializerMethodField()
    eligibility = serializers.SerializerMethodField()

    class Meta:
        model = LoanProductVersion
        fields = [
            "id",
            "version",
            "code",
            "bank",
            *TERMS,
            "kind_name",
            "guarantee_names",
            "repayment_names",
            "published_at",
            "eligibility",
        ]

    def get_bank(self, obj: LoanProductVersion) -> dict[str, Any]:
        return {"id": obj.product.bank_id, "name": obj.product.bank.name}

    def get_eligibility(self, obj: LoanProductVersion) -> dict[str, Any] | None:
        facts = self.context.get("facts")
        return eligibility.check(facts, obj).as_dict() if facts else None


def _decimal(params: QueryDict, name: str) -> Decimal | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise DomainError(
            "invalid_filter", _("%(name)s 应为数字") % {"name": name}, detail={name: [text]}
        ) from None


def _facts(request: Request) -> eligibility.EnterpriseFacts | None:
    membership = enterprise_membership_of(request.user)
    return eligibility.facts_for(membership.enterprise) if membership else None


MARKET_PARAMETERS = [
    OpenApiParameter("amount", OpenApiTypes.NUMBER, description="需要的金额（元），落在额度范围内"),
    OpenApiParameter("term", OpenApiTypes.INT, description="需要的期限（月），落在期限范围内"),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=list(LoanKind.values)),
    OpenApiParameter("rate_max", OpenApiTypes.NUMBER, description="可接受的最高年利率（%）"),
    OpenApiParameter("bank", OpenApiTypes.INT),
    OpenApiParameter("guarantee", OpenApiTypes.STR, enum=list(GuaranteeMethod.values)),
    OpenApiParameter("q", OpenApiTypes.STR, description="产品或银行名称包含"),
    OpenApiParameter("risk_compensation", OpenApiTypes.BOOL),
    OpenApiParameter("eligible", OpenApiTypes.BOOL, description="只看本企业满足条件的产品"),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(SORTS)),
]


def market_queryset(params: QueryDict) -> QuerySet[LoanProductVersion]:
    """The marketplace filtered and sorted by query parameters (the API's `query_params` or a
    page's `GET`)."""
    qs = services.listed_versions()
    if (amount := _decimal(params, "amount")) is not None:
        qs = qs.filter(amount_min__lte=amount, amount_max__gte=amount)
    if (term := _decimal(params, "term")) is not None:
        qs = qs.filter(term_min__lte=term, term_max__gte=term)
    if (rate := _decimal(params, "rate_max")) is not None:
        qs = qs.filter(rate_min__lte=rate)
    if kinds := [k for k in params.getlist("kind") if k]:
        qs = qs.filter(kind__in=kinds)
    if bank := params.get("bank", "").strip():
        if not bank.isdigit():
            raise DomainError("invalid_filter", _("bank 应为银行 id"), detail={"bank": [bank]})
        qs = qs.filter(product__bank_id=int(bank))
    if guarantee := params.get("guarantee", "").strip():
        qs = qs.filter(guarantee_index__contains=f",{guarantee},")
    if q := params.get("q", "").strip():
        qs = qs.filter(Q(name__icontains=q) | Q(product__bank__name__icontains=q))
    if params.get("risk_compensation") in ("true", "1"):
        qs = qs.filter(risk_compensation=True)
    sort = params.get("sort", "rate")
    if sort not in SORTS:
        raise DomainError(
            "invalid_sort", _("sort 可选：%(s)s") % {"s": ", ".join(SORTS)}, detail={"sort": [sort]}
        )
    return qs.order_by(*SORTS[sort])


class ProductListCreateView(generics.ListAPIView[LoanProductVersion]):
    """The marketplace: published products (their live version), filtered and sorted; for a
    signed-in enterprise each carries whether it qualifies and what it misses. POST: a bank
    drafts a new product."""

    serializer_class = MarketProductSerializer
    filter_backends: list[Any] = []

    def get_permissions(self) -> Any:
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    def get_queryset(self) -> Any:
        qs = market_queryset(self.request.query_params)
        facts = _facts(self.request)
        if facts and self.request.query_params.get("eligible") in ("true", "1"):
            return services.only_eligible(qs, facts)
        return qs

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "facts": _facts(self.request)}

    @extend_schema(parameters=MARKET_PARAMETERS)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=TermsInputSerializer, responses={201: ProductManageSerializer})
    def post(self, request: Request) -> Response:
        data = TermsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        terms = dict(data.validated_data)
        code = terms.pop("code")
        product = services.product_create(actor=request.user, code=code, terms=terms)
        return Response(ProductManageSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(APIView):
    """GET: a listed product as the marketplace shows it. PATCH: the bank edits its working
    copy (a published product's live version stays listed until the revision is published)."""

    def get_permissions(self) -> Any:
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(responses=MarketProductSerializer)
    def get(self, request: Request, pk: int) -> Response:
        version = get_object_or_404(services.listed_versions(), product_id=pk)
        context = {"request": request, "facts": _facts(request)}
        return Response(MarketProductSerializer(version, context=context).data)

    @extend_schema(request=TermsInputSerializer, responses=ProductManageSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        get_object_or_404(products_managed_by(request.user), pk=pk)
        data = TermsInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        terms = {k: v for k, v in data.validated_data.items() if k != "code"}
        product = services.product_update(actor=request.user, product_id=pk, terms=terms)
        return Response(ProductManageSerializer(product).data)


class ProductManageListView(generics.ListAPIView[LoanProduct]):
    """Your bank's products (the office: all), any status; `?status=pending_review` is the
    office's review queue."""

    serializer_class = ProductManageSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[LoanProduct]:
        qs = products_managed_by(self.request.user)
        if value := self.request.query_params.get("status", ""):
            if value not in ProductStatus.values:
                raise DomainError("invalid_filter", _("状态无效"), detail={"status": [value]})
            qs = qs.filter(status=value)
        return qs.order_by("-updated_at", "-id")

    @extend_schema(
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=list(ProductStatus.values))]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class ProductManageDetailView(APIView):
    @extend_schema(responses=ProductManageSerializer)
    def get(self, request: Request, pk: int) -> Response:
        product = get_object_or_404(products_managed_by(request.user), pk=pk)
        return Response(ProductManageSerializer(product).data)


class MoveInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class ProductMoveView(APIView):
    """submit (bank) · publish / reject (credit office) · suspend / resume / retire (bank admin
    or credit office). A move the status does not allow answers 409 with the allowed ones."""

    move = ""

    @extend_schema(request=MoveInputSerializer, responses=ProductManageSerializer)
    def post(self, request: Request, pk: int) -> Response:
        get_object_or_404(products_managed_by(request.user), pk=pk)
        data = MoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_move(
            actor=request.user, product_id=pk, move=self.move, reason=data.validated_data["reason"]
        )
        return Response(ProductManageSerializer(product).data)

"""Filters of the authorisation and access-log lists, shared by the pages and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enterprises.models import (
    AccessLog,
    Authorization,
    AuthorizationPurpose,
    AuthorizationScope,
    AuthorizationState,
    AuthorizationStatus,
)


def filter_state(qs: QuerySet[Authorization], state: str) -> QuerySet[Authorization]:
    """The computed state as a query: "active" rows split by their validity window."""
    now = timezone.now()
    live = Q(status=AuthorizationStatus.ACTIVE)
    if state == AuthorizationState.PENDING:
        return qs.filter(live, valid_from__gt=now)
    if state == AuthorizationState.ACTIVE:
        return qs.filter(live, valid_from__lte=now, valid_until__gt=now)
    if state == AuthorizationState.EXPIRED:
        return qs.filter(Q(status=AuthorizationStatus.EXPIRED) | (live & Q(valid_until__lte=now)))
    return qs.filter(status=state)


class AuthorizationFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        label=_("状态"), choices=AuthorizationState.choices, method="by_state"
    )
    scope = django_filters.ChoiceFilter(label=_("范围"), choices=AuthorizationScope.choices)
    purpose = django_filters.ChoiceFilter(label=_("用途"), choices=AuthorizationPurpose.choices)
    grantee_bank = django_filters.NumberFilter(label=_("银行"), field_name="grantee_bank_id")
    all_banks = django_filters.BooleanFilter(
        label=_("平台全部银行"), field_name="grantee_bank", lookup_expr="isnull"
    )
    enterprise = django_filters.CharFilter(label=_("企业"), method="by_enterprise")
    granted_from = django_filters.DateFilter(
        label=_("授权日期自"), field_name="granted_at", lookup_expr="date__gte"
    )
    granted_to = django_filters.DateFilter(
        label=_("授权日期至"), field_name="granted_at", lookup_expr="date__lte"
    )

    class Meta:
        model = Authorization
        fields: list[str] = []

    def by_state(self, qs: QuerySet[Authorization], name: str, value: str) -> Any:
        return filter_state(qs, value) if value else qs

    def by_enterprise(self, qs: QuerySet[Authorization], name: str, value: str) -> Any:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(enterprise__uscc=value.upper()) | Q(enterprise__name__contains=value))


class AccessLogFilter(django_filters.FilterSet):
    enterprise = django_filters.CharFilter(label=_("企业"), method="by_enterprise")
    bank = django_filters.NumberFilter(label=_("银行"), field_name="bank_id")
    user = django_filters.CharFilter(
        label=_("查询人邮箱"), field_name="user__email", lookup_expr="icontains"
    )
    scope = django_filters.ChoiceFilter(label=_("范围"), choices=AuthorizationScope.choices)
    purpose = django_filters.ChoiceFilter(label=_("用途"), choices=AuthorizationPurpose.choices)
    since = django_filters.DateFilter(label=_("日期自"), field_name="at", lookup_expr="date__gte")
    until = django_filters.DateFilter(label=_("日期至"), field_name="at", lookup_expr="date__lte")

    class Meta:
        model = AccessLog
        fields: list[str] = []

    def by_enterprise(self, qs: QuerySet[AccessLog], name: str, value: str) -> Any:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(enterprise__uscc=value.upper()) | Q(enterprise__name__contains=value))

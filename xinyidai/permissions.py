"""Roles and tenancy: the one place that decides who may see and do what.

Views and API endpoints declare the role they need; querysets of tenant data start from the
functions here (`*_visible_to`), never from all rows.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from xinyidai.core.models import PlatformRole

if TYPE_CHECKING:
    from banks.models import Bank, BankMembership, LoanProduct
    from enterprises.models import (
        AccessLog,
        Authorization,
        Enterprise,
        EnterpriseClaim,
        EnterpriseMembership,
    )


class Role(StrEnum):
    ENTERPRISE_OWNER = "enterprise_owner"
    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_MEMBER = "enterprise_member"
    BANK_ADMIN = "bank_admin"
    BANK_OFFICER = "bank_officer"
    CREDIT_OFFICE = "credit_office"
    TRADING_CENTRE = "trading_centre"
    DATA_SOURCE = "data_source"
    SUPERUSER = "superuser"


ENTERPRISE_ROLES = frozenset({Role.ENTERPRISE_OWNER, Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_MEMBER})
BANK_ROLES = frozenset({Role.BANK_ADMIN, Role.BANK_OFFICER})
# Roles holding power over other people's data sign in with a second factor.
MFA_ROLES = frozenset({Role.BANK_ADMIN, Role.BANK_OFFICER, Role.CREDIT_OFFICE, Role.SUPERUSER})


def _authenticated(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def enterprise_membership_of(user: Any) -> EnterpriseMembership | None:
    if not _authenticated(user):
        return None
    try:
        membership: EnterpriseMembership = user.enterprise_membership
    except Exception:  # RelatedObjectDoesNotExist
        return None
    return membership


def bank_membership_of(user: Any) -> BankMembership | None:
    if not _authenticated(user):
        return None
    try:
        membership: BankMembership = user.bank_membership
    except Exception:  # RelatedObjectDoesNotExist
        return None
    return membership


def roles_of(user: Any) -> frozenset[Role]:
    if not _authenticated(user):
        return frozenset()
    cached: frozenset[Role] | None = getattr(user, "_xyd_roles", None)
    if cached is not None:
        return cached
    roles: set[Role] = set()
    if em := enterprise_membership_of(user):
        roles.add(Role(f"enterprise_{em.role}"))
    if bm := bank_membership_of(user):
        roles.add(Role(f"bank_{bm.role}"))
    if user.platform_role == PlatformRole.CREDIT_OFFICE:
        roles.add(Role.CREDIT_OFFICE)
    elif user.platform_role == PlatformRole.TRADING_CENTRE:
        roles.add(Role.TRADING_CENTRE)
    elif user.platform_role == PlatformRole.DATA_SOURCE:
        roles.add(Role.DATA_SOURCE)
    if user.is_superuser:
        roles.add(Role.SUPERUSER)
    result = frozenset(roles)
    user._xyd_roles = result
    return result


def forget_roles(user: Any) -> None:
    """Drop cached roles after a membership change in the same request."""
    for attr in ("_xyd_roles", "_xyd_has_mfa"):
        if hasattr(user, attr):
            delattr(user, attr)
    fields_cache = getattr(getattr(user, "_state", None), "fields_cache", {})
    for rel in ("enterprise_membership", "bank_membership"):
        fields_cache.pop(rel, None)


def has_role(user: Any, *roles: Role) -> bool:
    return bool(roles_of(user) & set(roles))


def is_credit_office(user: Any) -> bool:
    return has_role(user, Role.CREDIT_OFFICE)


def requires_mfa(user: Any) -> bool:
    return bool(roles_of(user) & MFA_ROLES)


def has_mfa(user: Any) -> bool:
    if not _authenticated(user):
        return False
    cached: bool | None = getattr(user, "_xyd_has_mfa", None)
    if cached is None:
        from allauth.mfa.models import Authenticator

        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._xyd_has_mfa = cached
    return cached


def mfa_missing(user: Any) -> bool:
    """True when the user's role demands a second factor that they have not set up."""
    from django.conf import settings

    return bool(settings.MFA_ENFORCED and requires_mfa(user) and not has_mfa(user))


# ---------------------------------------------------------------------------------------------
# Object-level decisions
# ---------------------------------------------------------------------------------------------
def can_manage_enterprise_members(user: Any, enterprise: Enterprise) -> bool:
    membership = enterprise_membership_of(user)
    return (
        membership is not None
        and membership.enterprise_id == enterprise.pk
        and membership.role == "owner"
    )


def can_manage_bank(user: Any, bank: Bank) -> bool:
    membership = bank_membership_of(user)
    return membership is not None and membership.bank_id == bank.pk and membership.role == "admin"


def can_decide_claims(user: Any) -> bool:
    return has_role(user, Role.CREDIT_OFFICE)


def can_import_records(user: Any) -> bool:
    return has_role(user, Role.CREDIT_OFFICE)


def can_register_banks(user: Any) -> bool:
    return has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER)


def can_edit_calendar(user: Any) -> bool:
    """Enter holidays and swapped workdays, and confirm a year's schedule."""
    return has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER)


# ---------------------------------------------------------------------------------------------
# Tenant querysets
# ---------------------------------------------------------------------------------------------
def enterprises_visible_to(user: Any) -> QuerySet[Enterprise]:
    from enterprises.models import Enterprise

    qs = Enterprise.objects.all()
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        return qs
    membership = enterprise_membership_of(user)
    if membership is None:
        return qs.none()
    return qs.filter(pk=membership.enterprise_id)


def claims_visible_to(user: Any) -> QuerySet[EnterpriseClaim]:
    from enterprises.models import EnterpriseClaim

    qs = EnterpriseClaim.objects.select_related("enterprise", "user", "decided_by")
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        return qs
    if not _authenticated(user):
        return qs.none()
    return qs.filter(user=user)


def authorizations_visible_to(user: Any) -> QuerySet[Authorization]:
    """An enterprise sees the authorisations it gave; a bank those given to it (or to all
    banks, for matching); the credit office all of them."""
    from django.db.models import Q

    from enterprises.models import Authorization

    qs = Authorization.objects.select_related(
        "enterprise", "grantee_bank", "granted_by", "renewed_from"
    )
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        return qs
    if em := enterprise_membership_of(user):
        return qs.filter(enterprise_id=em.enterprise_id)
    if bm := bank_membership_of(user):
        return qs.filter(Q(grantee_bank_id=bm.bank_id) | Q(grantee_bank__isnull=True))
    return qs.none()


def access_logs_visible_to(user: Any) -> QuerySet[AccessLog]:
    """Who read what: an enterprise sees reads of its data, a bank admin the reads of its
    bank's staff, an officer their own reads, the credit office everything."""
    from enterprises.models import AccessLog

    qs = AccessLog.objects.select_related("user", "bank", "enterprise", "authorization")
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        return qs
    if em := enterprise_membership_of(user):
        return qs.filter(enterprise_id=em.enterprise_id)
    if bm := bank_membership_of(user):
        if bm.role == "admin":
            return qs.filter(bank_id=bm.bank_id)
        return qs.filter(user=user, bank_id=bm.bank_id)
    return qs.none()


def products_managed_by(user: Any) -> QuerySet[LoanProduct]:
    """A bank's staff see their bank's loan products in every status; the office sees all."""
    from banks.models import LoanProduct

    qs = LoanProduct.objects.select_related("bank", "live_version")
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        return qs
    membership = bank_membership_of(user)
    return qs.filter(bank_id=membership.bank_id) if membership else qs.none()


def banks_managed_by(user: Any) -> QuerySet[Bank]:
    from banks.models import Bank

    qs = Bank.objects.all()
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        return qs
    membership = bank_membership_of(user)
    if membership is None or membership.role != "admin":
        return qs.none()
    return qs.filter(pk=membership.bank_id)


# ---------------------------------------------------------------------------------------------
# Declaring what a page or endpoint needs
# ---------------------------------------------------------------------------------------------
F = TypeVar("F", bound=Callable[..., HttpResponseBase])


def role_required(*roles: Role) -> Callable[[F], F]:
    """Page decorator: sign-in first, then one of `roles`, else 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if roles and not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


class RoleRequiredMixin(AccessMixin):
    required_roles: tuple[Role, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if self.required_roles and not has_role(request.user, *self.required_roles):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class HasRole(BasePermission):
    """DRF permission: `permission_classes = [HasRole.of(Role.CREDIT_OFFICE)]`."""

    roles: tuple[Role, ...] = ()
    message = _("您的角色无权执行此操作。")

    @classmethod
    def of(cls, *roles: Role) -> type[HasRole]:
        return type(f"HasRole_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request: Any, view: Any) -> bool:
        return has_role(request.user, *self.roles)


class MfaSatisfied(BasePermission):
    """DRF permission: a role that needs MFA cannot use the API before setting it up."""

    message = _("您的角色须先启用双因素认证（TOTP）才能使用本功能。")
    code = "mfa_required"

    def has_permission(self, request: Any, view: Any) -> bool:
        return not mfa_missing(request.user)

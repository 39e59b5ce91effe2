from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from xinyidai.permissions import mfa_missing

# Paths a user who still has to set up MFA may reach: the set-up itself, sign-out, e-mail
# confirmation, the language switch, static files and public endpoints.
ALLOWED_PREFIXES = (
    "/accounts/",
    "/i18n/",
    "/static/",
    "/api/v1/uscc/",
    "/api/v1/schema/",
    "/api/v1/docs/",
    "/favicon.ico",
)


class MfaRequiredMiddleware:
    """Bank and credit-office users reach nothing of their role before they set up TOTP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.user.is_authenticated
            and not request.path.startswith(ALLOWED_PREFIXES)
            and mfa_missing(request.user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "mfa_required",
                        "message": _("您的角色须先启用双因素认证（TOTP）才能使用本功能。"),
                        "detail": {"setup_url": reverse("mfa_activate_totp")},
                    },
                    status=403,
                )
            return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")
        return self.get_response(request)

"""Re-entering the password (or a second-factor code) before a consequential act."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core.cache import cache
from django.utils.translation import gettext as _

from xinyidai.core.errors import DomainError

MAX_FAILURES = 10
WINDOW_SECONDS = 3600


def second_factor_ok(user: Any, code: str) -> bool:
    code = code.strip()
    if not code:
        return False
    for authenticator in Authenticator.objects.filter(user=user):
        if authenticator.type == Authenticator.Type.TOTP and TOTP(authenticator).validate_code(
            code
        ):
            return True
        if authenticator.type == Authenticator.Type.RECOVERY_CODES and RecoveryCodes(
            authenticator
        ).validate_code(code):
            return True
    return False


def confirm_identity(user: Any, *, password: str = "", otp_code: str = "") -> None:
    """Raise unless the password or a current TOTP / recovery code is right. Ten failures in an
    hour lock the confirmation for the rest of the hour."""
    key = f"reauth-failures:{user.pk}"
    failures = int(cache.get(key, 0))
    if failures >= MAX_FAILURES:
        raise DomainError("reauth_locked", _("验证失败次数过多，请一小时后再试。"), status=429)
    if (password and user.check_password(password)) or (
        otp_code and second_factor_ok(user, otp_code)
    ):
        cache.delete(key)
        return
    # counted atomically: parallel wrong attempts cannot undercount
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
    raise DomainError(
        "reauth_failed",
        _("请重新输入登录密码（或动态验证码）以确认本次授权。"),
        detail={"password": [_("密码或验证码不正确")]},
        status=403,
    )

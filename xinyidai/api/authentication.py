from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


class TokenWithRoles(TokenAuthentication):
    """Token authentication that loads the user's memberships in the same query, so deciding
    the user's roles (every request does) costs no further round trips."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = (
            Token.objects.select_related(
                "user", "user__enterprise_membership", "user__bank_membership"
            )
            .filter(key=key)
            .first()
        )
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token

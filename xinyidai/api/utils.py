from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from xinyidai.core.models import User


def accept_url_base(request: HttpRequest, url_name: str) -> str:
    """Absolute URL of an invitation-accept page without its token (the token is appended)."""
    return request.build_absolute_uri(reverse(url_name, args=["TOKEN"])).removesuffix("TOKEN/")


def acting_user(request: Request) -> User:
    """The signed-in account behind an API request (the default permission requires one)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated
    return user

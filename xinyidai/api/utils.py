from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse


def accept_url_base(request: HttpRequest, url_name: str) -> str:
    """Absolute URL of an invitation-accept page without its token (the token is appended)."""
    return request.build_absolute_uri(reverse(url_name, args=["TOKEN"])).removesuffix("TOKEN/")

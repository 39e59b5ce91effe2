from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import requires_csrf_token

from xinyidai import selectors


def home(request: HttpRequest) -> HttpResponse:
    """Landing page for visitors; a list of next actions per role for signed-in users."""
    if not request.user.is_authenticated:
        return render(request, "home/public.html", {"stats": selectors.public_stats()})
    return render(request, "home/dashboard.html", {"actions": selectors.next_actions(request.user)})


def _error(request: HttpRequest, template: str, status: int, **context: Any) -> HttpResponse:
    return render(request, template, context, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, "errors/403.html", 403, reason=str(exception or ""))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, "errors/404.html", 404)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without context processors' database work: the failure may be the database.
    from django.template import loader

    return HttpResponse(loader.get_template("errors/500.html").render({}), status=500)

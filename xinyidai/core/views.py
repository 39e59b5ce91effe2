from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from xinyidai.core.errors import DomainError
from xinyidai.core.models import InvitationBase
from xinyidai.core.types import AuthedRequest


def invitation_accept_page(
    request: AuthedRequest,
    token: str,
    *,
    invitations: QuerySet[Any],
    organisation: Callable[[Any], str],
    accept: Callable[..., object],
    success_message: str,
    success_url: str,
) -> HttpResponse:
    """GET shows who invites to what; POST accepts through the app's service."""
    if request.method == "POST":
        try:
            accept(token=token, user=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("home")
        messages.success(request, success_message)
        return redirect(success_url)
    invitation: InvitationBase | None = invitations.filter(token=token).first()
    if invitation is None:
        raise Http404
    return render(
        request,
        "partials/invitation_accept.html",
        {"invitation": invitation, "organisation": organisation(invitation)},
    )

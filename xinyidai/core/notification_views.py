"""The signed-in user's in-app notices: the list, opening one, marking all read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xinyidai.core import notifications
from xinyidai.core.errors import NotFound
from xinyidai.core.types import AuthedRequest

PAGE_SIZE = 25


@login_required
@require_GET
def notification_list(request: AuthedRequest) -> HttpResponse:
    page = Paginator(notifications.notifications_of(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "core/notification_list.html", {"page": page})


@login_required
@require_GET
def notification_open(request: AuthedRequest, pk: int) -> HttpResponse:
    """Mark the notice read and follow its link; a link leaving the site is not followed."""
    try:
        notification = notifications.notification_mark_read(user=request.user, notification_id=pk)
    except NotFound as exc:
        raise Http404 from exc
    url = notifications.safe_notification_url(notification)
    return redirect(url or "notification_list")


@login_required
@require_POST
def notification_read_all(request: AuthedRequest) -> HttpResponse:
    count = notifications.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, _("已将 %(count)d 条通知标为已读。") % {"count": count})
    return redirect("notification_list")

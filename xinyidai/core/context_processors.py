from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from xinyidai.core.models import User
from xinyidai.core.notifications import unread_notification_count


class UnreadNotifications:
    """The bell's number, counted when a template first asks for it (one query a page)."""

    def __init__(self, user: User) -> None:
        self.user = user

    @cached_property
    def count(self) -> int:
        return unread_notification_count(self.user)


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {}
    return {"unread_notifications": UnreadNotifications(user)}

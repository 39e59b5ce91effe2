from django.http import HttpRequest

from xinyidai.core.models import User


class AuthedRequest(HttpRequest):
    """A request behind a sign-in check: `user` is a real account."""

    user: User

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # allauth builds the message (it needs the request for links); delivery goes through
        # the task queue so a slow SMTP server never holds up a sign-up page.
        from xinyidai.core.notifications import queue_message

        msg = self.render_mail(template_prefix, email, context)
        queue_message(msg)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return super().get_login_redirect_url(request)

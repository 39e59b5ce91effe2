from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from xinyidai.core.audit import audit
from xinyidai.core.models import PlatformRole, User


class Command(BaseCommand):
    help = "Give a user a platform role: credit_office, trading_centre, or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("role", choices=["credit_office", "trading_centre", "none"])

    def handle(self, *args: Any, **options: Any) -> None:
        role = "" if options["role"] == "none" else options["role"]
        with transaction.atomic():
            user = User.objects.select_for_update().filter(email__iexact=options["email"]).first()
            if user is None:
                raise CommandError(f"no user with e-mail {options['email']}")
            if role and (
                hasattr(user, "enterprise_membership") or hasattr(user, "bank_membership")
            ):
                raise CommandError("this account belongs to an enterprise or a bank; use another")
            old = user.platform_role
            user.platform_role = role
            user.save(update_fields=["platform_role"])
            audit(actor=None, action="user.platform_role", obj=user, data={"from": old, "to": role})
        label = PlatformRole(role).label if role else "none"
        self.stdout.write(f"{user.email}: {label}")

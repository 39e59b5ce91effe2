from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from xinyidai.core.audit import audit
from xinyidai.core.models import PlatformRole, User


class Command(BaseCommand):
    help = "Give a user a platform role: credit_office, trading_centre, data_source, or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "role", choices=["credit_office", "trading_centre", "data_source", "none"]
        )
        parser.add_argument(
            "--department", default="", help="for data_source: the department it reports for"
        )

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
            if role == "data_source" and not (options["department"] or user.department):
                raise CommandError("a data_source account needs --department")
            old = user.platform_role
            user.platform_role = role
            if options["department"]:
                user.department = options["department"]
            user.save(update_fields=["platform_role", "department"])
            audit(actor=None, action="user.platform_role", obj=user, data={"from": old, "to": role})
        label = PlatformRole(role).label if role else "none"
        self.stdout.write(f"{user.email}: {label}")

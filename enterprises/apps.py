from django.apps import AppConfig


class EnterprisesConfig(AppConfig):
    name = "enterprises"
    verbose_name = "企业"

    def ready(self) -> None:
        from enterprises.models import AccessLog, AuthorizationEvent
        from xinyidai.core import ledger

        ledger.register_source(
            AuthorizationEvent,
            at_field="at",
            queryset=lambda: AuthorizationEvent.objects.select_related(
                "authorization__enterprise",
                "authorization__grantee_bank",
                "authorization__renewed_from",
            ),
        )
        ledger.register_source(AccessLog, at_field="at")

from django.contrib import admin
from django.http import HttpRequest

from enterprises.models import (
    Enterprise,
    EnterpriseClaim,
    EnterpriseGrade,
    EnterpriseInvitation,
    EnterpriseMembership,
    KeyPersonnel,
    ScoreScheme,
    Shareholding,
)


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["uscc", "name", "town", "industry_section", "scale", "status"]
    list_filter = ["status", "scale", "industry_section", "town"]
    search_fields = ["uscc", "name"]
    # The resident ID is encrypted at rest and never shown in full, not even here.
    exclude = ["legal_rep_id", "phone"]
    readonly_fields = ["legal_rep_id_masked", "phone_masked", "created_at", "updated_at"]


@admin.register(EnterpriseMembership)
class EnterpriseMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "enterprise", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "enterprise__name", "enterprise__uscc"]
    raw_id_fields = ["user", "enterprise"]


@admin.register(EnterpriseClaim)
class EnterpriseClaimAdmin(admin.ModelAdmin):
    """Read-only: claims are decided on the credit office's pages, where every step is audited."""

    list_display = ["created_at", "user", "enterprise", "status", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["user__email", "enterprise__uscc", "enterprise__name"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(EnterpriseInvitation)
class EnterpriseInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "enterprise", "role", "created_at", "expires_at", "accepted_at"]
    search_fields = ["email", "enterprise__name"]
    exclude = ["token"]
    raw_id_fields = ["enterprise", "invited_by", "accepted_by"]


@admin.register(ScoreScheme)
class ScoreSchemeAdmin(admin.ModelAdmin):
    """Schemes are versioned data: a published version is never edited, a new one is added."""

    list_display = ["version", "name", "is_active", "created_at"]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["version", "definition", "created_at"] if obj is not None else ["created_at"]


@admin.register(EnterpriseGrade)
class EnterpriseGradeAdmin(admin.ModelAdmin):
    list_display = ["enterprise", "grade", "score", "scheme_version", "computed_at", "is_current"]
    list_filter = ["grade", "is_current", "scheme_version"]
    search_fields = ["enterprise__uscc", "enterprise__name"]
    raw_id_fields = ["enterprise"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Shareholding)
class ShareholdingAdmin(admin.ModelAdmin):
    list_display = ["target", "holder_enterprise", "holder_person", "share_percent", "as_of"]
    search_fields = ["target__uscc", "target__name"]
    raw_id_fields = ["target", "holder_enterprise", "holder_person"]


@admin.register(KeyPersonnel)
class KeyPersonnelAdmin(admin.ModelAdmin):
    list_display = ["enterprise", "person", "role", "as_of"]
    list_filter = ["role"]
    search_fields = ["enterprise__uscc", "enterprise__name", "person__name"]
    raw_id_fields = ["enterprise", "person"]

from django.contrib import admin

from banks.models import Bank, BankInvitation, BankMembership, Branch


class BranchInline(admin.TabularInline):
    model = Branch
    extra = 0


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin):
    list_display = ["name", "fi_code", "uscc"]
    search_fields = ["name", "fi_code", "uscc"]
    inlines = [BranchInline]


@admin.register(BankMembership)
class BankMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "bank", "branch", "role"]
    list_filter = ["role", "bank"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


@admin.register(BankInvitation)
class BankInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "bank", "role", "created_at", "expires_at", "accepted_at"]
    exclude = ["token"]
    raw_id_fields = ["bank", "branch", "invited_by", "accepted_by"]

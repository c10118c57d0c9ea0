"""Django admin for the platform operator only.

Tenant staff never get `is_staff`, and every ModelAdmin here additionally demands a superuser,
so the admin cannot become a cross-tenant window for a shop's users.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from crm.models import AuditEvent, Membership, Tenant, User


class PlatformAdmin(admin.ModelAdmin):
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    has_change_permission = has_add_permission = has_delete_permission = has_view_permission

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        # The platform operator works across tenants by definition.
        return qs.unscoped() if hasattr(qs, "unscoped") else qs


@admin.register(Tenant)
class TenantAdmin(PlatformAdmin):
    list_display = ["slug", "name", "sender_email", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(Membership)
class MembershipAdmin(PlatformAdmin):
    list_display = ["user", "tenant", "role"]
    list_filter = ["role"]


@admin.register(User)
class UserAdmin(PlatformAdmin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_active", "is_superuser"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "display_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(AuditEvent)
class AuditEventAdmin(PlatformAdmin):
    """Read-only: the trail is append-only for the operator too."""

    list_display = ["created_at", "tenant", "action", "actor_label", "ip", "target_type", "target_id"]
    list_filter = ["action"]
    list_select_related = ["tenant"]

    def has_add_permission(self, request, obj=None):
        return False

    has_change_permission = has_delete_permission = has_add_permission

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from netcare.models import AuditEvent, Centre, User


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "time_zone", "phone")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "centre", "is_active")
    list_filter = ("role", "centre", "is_active")
    list_select_related = ("centre",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("NETcare", {"fields": ("role", "centre", "specialty", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("NETcare", {"fields": ("role", "centre", "first_name", "last_name", "email")}),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail can be searched, never edited."""

    list_display = ("at", "actor", "action", "object_type", "object_id", "patient_id", "note")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "patient_id", "actor__username")
    list_select_related = ("actor",)
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

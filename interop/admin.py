"""Administration of registered systems (activate, deactivate, scopes), audited. The raw
messages and the inbox hold clinical data: administrators see no clinical records, so they are
not here (the inbox is the navigators')."""

from django import forms
from django.contrib import admin

from interop.auth import known_scopes
from interop.models import SystemClient
from netcare import audit

AUDITED_FIELDS = ("is_active", "scopes", "mrn_authority")


class SystemClientForm(forms.ModelForm):
    class Meta:
        model = SystemClient
        fields = ["scopes", "mrn_authority", "is_active"]

    def clean_scopes(self) -> str:
        scopes = self.cleaned_data["scopes"].split()
        unknown = sorted(set(scopes) - set(known_scopes()))
        if unknown or not scopes:
            raise forms.ValidationError(f"Choose from {', '.join(known_scopes())}.")
        return " ".join(sorted(set(scopes)))


@admin.register(SystemClient)
class SystemClientAdmin(admin.ModelAdmin):
    """Register a system with `manage.py register_system` (it prints the secret once); here an
    administrator deactivates it (its tokens stop working at once) or narrows its scopes."""

    form = SystemClientForm
    list_display = ("name", "centre", "scopes", "is_active", "created_at")
    list_filter = ("is_active", "centre")
    list_select_related = ("centre",)
    fields = ("name", "centre", "account", "application", "scopes", "mrn_authority",
              "is_active", "created_at", "created_by")
    readonly_fields = ("name", "centre", "account", "application", "created_at", "created_by")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(SystemClient.objects.get(pk=obj.pk), AUDITED_FIELDS)
        super().save_model(request, obj, form, change)
        audit.record_update(actor=request.user, obj=obj, before=before,
                            note="System changed in the admin")


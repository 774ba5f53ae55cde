from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from netcare import audit, mfa
from netcare.models import AuditEvent, Centre, User

# What an administrator changes about a person's access, audited field by field.
AUDITED_USER_FIELDS = ("role", "centre_id", "is_active", "is_staff", "is_superuser")


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "time_zone", "phone")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Users, with every change to their access (role, centre, activation, staff and superuser
    status, password, second factor) written to the audit trail as the administrator's."""

    list_display = ("username", "first_name", "last_name", "role", "centre", "is_active",
                    "two_factor")
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
    actions = ["reset_two_factor"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(has_authenticator=Exists(
            TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))

    @admin.display(boolean=True, description="Two-factor", ordering="has_authenticator")
    def two_factor(self, obj) -> bool:
        return obj.has_authenticator

    def save_model(self, request, obj, form, change):
        stored = User.objects.filter(pk=obj.pk).first() if change else None
        before = audit.snapshot(stored, AUDITED_USER_FIELDS) if stored is not None else None
        super().save_model(request, obj, form, change)
        after = audit.snapshot(obj, AUDITED_USER_FIELDS)
        if before is None:
            audit.record(actor=request.user, action=AuditEvent.Action.CREATE, obj=obj,
                         changes={k: [None, v] for k, v in after.items()},
                         note=f"User added by an administrator: {obj.username}")
            return
        changes = audit.diff(before, after)
        if changes:
            audit.record(actor=request.user, action=AuditEvent.Action.UPDATE, obj=obj,
                         changes=changes,
                         note=f"Access changed by an administrator: {', '.join(changes)}")

    def delete_model(self, request, obj):
        audit.record(actor=request.user, action=AuditEvent.Action.DELETE, obj=obj,
                     changes={k: [v, None] for k, v in
                              audit.snapshot(obj, AUDITED_USER_FIELDS).items()},
                     note=f"User deleted by an administrator: {obj.username}")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if (request.method == "POST" and response.status_code == 302
                and response["Location"] != request.get_full_path()):
            user = self.get_object(request, unquote(id))
            audit.record(actor=request.user, action=AuditEvent.Action.UPDATE, obj=user,
                         changes={"password": ["(earlier)", "(set by an administrator)"]},
                         note="Password set by an administrator")
        return response

    @admin.action(description="Remove their second factor (they enrol again at next sign-in)",
                  permissions=["change"])
    def reset_two_factor(self, request, queryset):
        count = 0
        for user in queryset:
            removed = mfa.remove_devices(user)
            mfa.record_removal(request, user, removed, actor=request.user)
            count += bool(removed)
        self.message_user(request, f"Second factor removed for {count} user(s).",
                          messages.SUCCESS)


class DeviceAdmin(admin.ModelAdmin):
    """A second-factor device as administrators see it: who, which and when, never the secret
    or the codes; no adding or editing (each person enrols their own), and a removal (a lost
    phone) is audited as the administrator's."""

    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__last_name")
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        user = obj.user
        super().delete_model(request, obj)
        mfa.record_removal(request, user, [obj.name], actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("user"):
            self.delete_model(request, obj)


for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, DeviceAdmin)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail can be searched, never edited."""

    list_display = ("at", "actor", "action", "object_type", "object_id", "patient_id", "note")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "patient_id", "actor__username", "note")
    list_select_related = ("actor",)
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Admin site: each centre's PRRT logistics settings (suppliers and their ordering terms,
infusion rooms and their slots, closures, the precaution sheet). Every change is audited as the
administrator's; settings that records point at are never deleted, only made inactive."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from netcare import audit
from netcare.models import AuditEvent
from prrt import orders
from prrt.models import InfusionClosure, InfusionRoom, PrecautionItem, Supplier


class AuditedSettingAdmin(admin.ModelAdmin):
    """Writes an audit row for every create, change and delete made here."""

    def save_model(self, request, obj, form, change):
        before = (audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None)
        super().save_model(request, obj, form, change)
        if before is None:
            audit.record_create(actor=request.user, obj=obj)
        else:
            audit.record_update(actor=request.user, obj=obj, before=before,
                                note="centre setting changed")

    def delete_model(self, request, obj):
        before = audit.snapshot(obj)
        audit.record(actor=request.user, action=AuditEvent.Action.DELETE, obj=obj,
                     changes={k: [v, None] for k, v in before.items()})
        super().delete_model(request, obj)


class SupplierAdminForm(forms.ModelForm):
    class Meta:
        model = Supplier
        fields = ["centre", "name", "active", "order_cutoff_weekday", "order_cutoff_weeks_before",
                  "free_cancellation_days_before", "late_cancellation_charge",
                  "unused_dose_charge", "currency"]

    def clean(self):
        data = super().clean()
        if self.errors or not data.get("centre"):
            return data
        candidate = Supplier(pk=self.instance.pk, **{k: data.get(k) for k in self.Meta.fields})
        problem = orders.supplier_terms_error(candidate)
        if problem:
            raise ValidationError(f"These terms leave no day for the pre-dose labs before the "
                                  f"free-cancellation deadline: {problem}")
        return data


@admin.register(Supplier)
class SupplierAdmin(AuditedSettingAdmin):
    """A supplier's free-cancellation days set when the centre's pre-dose labs are due."""

    form = SupplierAdminForm

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        orders.supplier_saved(actor=request.user, supplier=obj)

    list_display = ("name", "centre", "active", "order_cutoff_weekday",
                    "order_cutoff_weeks_before", "free_cancellation_days_before",
                    "late_cancellation_charge", "unused_dose_charge", "currency")
    list_filter = ("centre", "active")
    list_select_related = ("centre",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InfusionRoom)
class InfusionRoomAdmin(AuditedSettingAdmin):
    list_display = ("name", "centre", "active", "slot_times", "weekdays")
    list_filter = ("centre", "active")
    list_select_related = ("centre",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InfusionClosure)
class InfusionClosureAdmin(AuditedSettingAdmin):
    list_display = ("centre", "room", "start_date", "end_date", "reason")
    list_filter = ("centre",)
    list_select_related = ("centre", "room")


@admin.register(PrecautionItem)
class PrecautionItemAdmin(admin.ModelAdmin):
    """Read here; changed on the centre's precaution sheet page (/prrt/precautions/), whose
    service keeps the plan's precaution window in line with the sheet."""

    list_display = ("centre", "position", "text", "days", "audience")
    list_filter = ("centre",)
    list_select_related = ("centre",)
    ordering = ("centre", "position", "id")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

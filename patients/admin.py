"""Admin site: the centres' reference ranges (limits of normal), changed through the same
service as the page, so every change is checked and audited; ranges are never deleted."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from patients.models import ReferenceRange
from patients.ranges import reference_range_save, reference_range_validate


class ReferenceRangeAdminForm(forms.ModelForm):
    class Meta:
        model = ReferenceRange
        fields = ["centre", "analyte", "unit", "lln", "uln", "laboratory"]

    def clean(self):
        data = super().clean()
        if self.errors or not data.get("analyte"):
            return data
        try:
            reference_range_validate(analyte=data["analyte"], unit=data.get("unit", ""),
                                     uln=data.get("uln"), lln=data.get("lln"),
                                     laboratory=data.get("laboratory", ""))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(ReferenceRange)
class ReferenceRangeAdmin(admin.ModelAdmin):
    form = ReferenceRangeAdminForm
    list_display = ("centre", "analyte", "unit", "lln", "uln", "laboratory", "updated_at",
                    "updated_by")
    list_filter = ("centre", "analyte")
    list_select_related = ("centre", "updated_by")
    readonly_fields = ("updated_by", "updated_at", "created_at")

    def save_model(self, request, obj, form, change):
        saved = reference_range_save(
            actor=request.user, centre=obj.centre, analyte=obj.analyte, unit=obj.unit,
            uln=obj.uln, lln=obj.lln, laboratory=obj.laboratory,
            reference_range=ReferenceRange.objects.get(pk=obj.pk) if change else None)
        obj.pk, obj.external_id = saved.pk, saved.external_id

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

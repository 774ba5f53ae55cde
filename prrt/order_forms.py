"""The forms of the dose order panel on the cycle page (prrt.order_views)."""

from __future__ import annotations

from django import forms

from patients.forms import CentreDateTimeField
from prrt.models import Supplier


class CentreForm(forms.Form):
    """Date-times read in the centre's time zone."""

    def __init__(self, *args, time_zone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, CentreDateTimeField):
                field.time_zone = time_zone


class OrderCreateForm(CentreForm):
    supplier = forms.ModelChoiceField(queryset=None, label="Supplier", empty_label=None)
    calibration_at = CentreDateTimeField(
        label="Calibration date and time", required=False,
        help_text="Empty: the booked infusion time (08:00 when no time is booked).")
    activity_gbq = forms.DecimalField(label="Activity (GBq)", required=False, max_digits=4,
                                      decimal_places=2)

    def __init__(self, *args, suppliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers if suppliers is not None \
            else Supplier.objects.none()


class OrderPlaceForm(CentreForm):
    order_number = forms.CharField(label="Supplier's order number", max_length=60)


class OrderConfirmForm(CentreForm):
    """The supplier's confirmation: nothing to fill in."""


class OrderReceiveForm(CentreForm):
    lot_number = forms.CharField(label="Lot number", max_length=60)
    measured_activity_gbq = forms.DecimalField(label="Measured activity (GBq)", max_digits=5,
                                               decimal_places=2)
    measured_at = CentreDateTimeField(label="Measured at", required=False,
                                      help_text="Empty: now.")


class OrderCancelForm(CentreForm):
    reason = forms.CharField(label="Why it is cancelled", widget=forms.Textarea(attrs={"rows": 2}))


class OrderWasteForm(CentreForm):
    reason = forms.CharField(label="Why the dose was not given",
                             widget=forms.Textarea(attrs={"rows": 2}))
    ineligible_on_testing = forms.BooleanField(
        label="Pre-treatment testing made the patient ineligible (the charge is waived)",
        required=False)


FORMS = {"create": OrderCreateForm, "place": OrderPlaceForm, "confirm": OrderConfirmForm,
         "receive": OrderReceiveForm, "cancel": OrderCancelForm, "waste": OrderWasteForm}

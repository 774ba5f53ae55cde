"""The centre's suppliers in the admin site: terms checked against the plan, changes audited,
and the pre-dose labs moved before the free-cancellation deadline."""

import pytest
from django.urls import reverse

from netcare.models import AuditEvent
from prrt.models import Supplier

pytestmark = pytest.mark.django_db


def supplier_form(centre, **changes):
    data = {"centre": centre.pk, "name": "Isotope Supplies", "active": "on",
            "order_cutoff_weekday": 1, "order_cutoff_weeks_before": 2,
            "free_cancellation_days_before": 10, "late_cancellation_charge": "500",
            "unused_dose_charge": "2000", "currency": "USD"}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_a_supplier_moves_the_centres_pre_dose_labs(client, administrator, centre):
    client.force_login(administrator)
    response = client.post(reverse("admin:prrt_supplier_add"), supplier_form(centre))
    assert response.status_code == 302, response.context["adminform"].form.errors
    supplier = Supplier.objects.get()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, actor=administrator,
                                     object_type="prrt.Supplier").exists()
    centre.refresh_from_db()
    assert centre.rules_settings["pre_dose_labs_by_days_before"] == 11
    update = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE,
                                    object_type="netcare.Centre")
    assert update.changes["rules_settings"][1]["pre_dose_labs_by_days_before"] == 11

    # Made inactive: the centre no longer orders, the labs may be drawn up to the dose.
    response = client.post(reverse("admin:prrt_supplier_change", args=[supplier.pk]),
                           supplier_form(centre, active=""))
    assert response.status_code == 302
    centre.refresh_from_db()
    assert "pre_dose_labs_by_days_before" not in centre.rules_settings


def test_terms_that_leave_no_day_for_labs_are_a_form_error(client, administrator, centre):
    client.force_login(administrator)
    response = client.post(reverse("admin:prrt_supplier_add"),
                           supplier_form(centre, free_cancellation_days_before=13))
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "no day for the pre-dose labs" in errors[0]
    assert not Supplier.objects.exists()

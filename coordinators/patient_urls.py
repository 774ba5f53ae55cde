"""URLs of the patient page (namespace ``patients``)."""

from django.urls import path

from coordinators import patient_views as views
from patients import views as range_views

app_name = "patients"
urlpatterns = [
    path("<uuid:external_id>/", views.patient_detail, name="detail"),
    path("<uuid:external_id>/forms/<slug:name>/", views.patient_entry_form, name="entry-form"),
    path("<uuid:external_id>/labs/", views.lab_panel_add, name="labs-add"),
    path("<uuid:external_id>/adverse-events/", views.adverse_event_add, name="adverse-event-add"),
    path("<uuid:external_id>/performance-status/", views.performance_status_add,
         name="performance-status-add"),
    path("<uuid:external_id>/labs/<uuid:lab_id>/in-error/", views.lab_mark_in_error,
         name="lab-in-error"),
    path("<uuid:external_id>/primary-oncologist/", views.primary_oncologist_set,
         name="primary-oncologist"),
    path("reference-ranges/", range_views.reference_ranges, name="reference-ranges"),
    path("<uuid:external_id>/contacts/", views.contact_add, name="contact-add"),
    path("<uuid:external_id>/ssa-injections/", views.ssa_injection_add, name="ssa-injection-add"),
]

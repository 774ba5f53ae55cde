from django.urls import path

from patients import views

app_name = "patients"
urlpatterns = [
    path("<uuid:external_id>/", views.patient_detail, name="detail"),
]

"""HL7 v2 over HTTP, mounted at /api/v1/hl7/."""

from django.urls import path

from interop.hl7_views import OruView

app_name = "hl7"

urlpatterns = [
    path("oru", OruView.as_view(), name="oru"),
]

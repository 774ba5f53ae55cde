"""FHIR R4 routes, mounted at /fhir/R4/ (namespace ``fhir``). Ids are NETcare's UUIDs, with a
prefix where one record gives several resources (``ki67-<uuid>``, ``lar-<uuid>``)."""

from django.urls import path, re_path

from interop.fhir import views

app_name = "fhir"

_TYPE = "<str:resource_type>"
_ID = "<str:resource_id>"

urlpatterns = [
    path("", views.SystemView.as_view(), name="root"),
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    path(f"Patient/{_ID}/$everything", views.EverythingView.as_view(), name="everything"),
    path(f"Binary/{_ID}", views.BinaryView.as_view(), name="binary"),
    path(_TYPE, views.TypeView.as_view(), name="type"),
    path(f"{_TYPE}/{_ID}", views.InstanceView.as_view(), name="instance"),
    re_path(r"^.*$", views.UnknownView.as_view(), name="unknown"),
]

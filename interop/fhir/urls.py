"""FHIR R4 routes, mounted at /fhir/R4/."""

urlpatterns: list = []

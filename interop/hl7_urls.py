"""HL7 v2 over HTTP, mounted at /api/v1/hl7/."""

urlpatterns: list = []

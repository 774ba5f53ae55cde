"""FHIR R4 at /fhir/R4/, built and validated with fhir.resources (R4B models)."""

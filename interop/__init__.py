"""Interoperability: lab results in by HL7 v2 and FHIR, the record out as FHIR R4, and systems
signing in with OAuth2. The top layer: it reads every app below it and nothing imports it."""

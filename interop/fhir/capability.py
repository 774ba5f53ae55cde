"""The CapabilityStatement at ``/fhir/R4/metadata``: what this server reads, searches and takes
in, made from the same registry and search parameters the views use."""

from __future__ import annotations

from django.utils import timezone
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from interop.fhir import registry, search

DOCUMENTATION = {
    "Patient": "Patients you may see; identifier is the MRN under the centre's system.",
    "Condition": "The NET: ICD-O-3 morphology and topography (one per patient).",
    "Observation": "Lab results (LOINC, UCUM), Ki-67 and the grade. POST one, or a "
                   "transaction Bundle of them, to send lab results.",
    "ServiceRequest": "The referral to the NET specialist centre.",
    "CarePlan": "One per PRRT course; its activities are the care tasks and their bookings.",
    "Task": "Care tasks: status, owner, the window as executionPeriod.",
    "Appointment": "Bookings of care tasks (infusions, labs, scans).",
    "MedicationAdministration": "PRRT doses in GBq, the LAR after each infusion, SSA "
                                "injections.",
    "DocumentReference": "Radiation-safety instructions and the course letter, as PDFs "
                         "(Binary).",
}


def capability_statement(base_url: str) -> CapabilityStatement:
    resources = []
    for resource_type in registry.resource_types():
        entry = {
            "type": resource_type,
            "documentation": DOCUMENTATION[resource_type],
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": kind, "documentation": search.DOCUMENTATION[name]}
                for name, kind in search.parameters_of(resource_type).items()
                if name in search.DOCUMENTATION
            ],
        }
        if resource_type == "Patient":
            entry["operation"] = [{
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]
        if resource_type == "Observation":
            entry["interaction"].append({"code": "create"})
        resources.append(entry)
    resources.append({"type": "Binary", "interaction": [{"code": "read"}],
                      "documentation": "The PDFs of the DocumentReferences."})
    return CapabilityStatement(
        status="active",
        date=timezone.now(),
        publisher="NETcare",
        kind="instance",
        software={"name": "NETcare"},
        implementation={"description": "NETcare FHIR R4 server", "url": base_url},
        fhirVersion="4.0.1",
        format=["application/fhir+json", "json"],
        rest=[{
            "mode": "server",
            "documentation": "People sign in with their NETcare session; registered systems "
                             "with OAuth2 client credentials (/o/token/, scopes fhir.read and "
                             "labs.write). Everything is scoped to the patients the user or "
                             "system may see, and every read is audited.",
            "security": {"service": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "OAuth", "display": "OAuth"}]}]},
            "resource": resources,
            "interaction": [{"code": "transaction"}],
        }],
    )

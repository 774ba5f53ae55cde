"""Patient, and the tumour profile as a Condition (the NET, with its ICD-O-3 morphology and
site) plus two Observations (Ki-67 and the grade)."""

from __future__ import annotations

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient

from interop.fhir import codes
from interop.fhir.mapping import (
    concept,
    condition_id,
    meta,
    netcare_concept,
    number,
    organization_ref,
    patient_ref,
    practitioner_ref,
    ref,
)

GENDER = {"F": "female", "M": "male"}


def patient_resource(patient) -> FhirPatient:
    """Name, birth date, gender, contact, the MRN under the centre's system, the treating
    centre and the oncologists near home. The id is the patient's NETcare id (a UUID)."""
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    oncologists = [practitioner_ref(user) for user in
                   (patient.referring_oncologist, patient.primary_oncologist) if user is not None]
    return FhirPatient(
        id=str(patient.external_id),
        meta=meta(patient.updated_at),
        identifier=[{
            "use": "usual",
            "type": {"coding": [{"system": codes.IDENTIFIER_TYPE, "code": "MR",
                                 "display": "Medical record number"}]},
            "system": codes.mrn_system(patient.centre), "value": patient.mrn,
            "assigner": organization_ref(patient.centre),
        }],
        active=True,
        name=[{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        telecom=telecom or None,
        gender=GENDER.get(patient.sex, "unknown"),
        birthDate=patient.date_of_birth,
        managingOrganization=organization_ref(patient.centre),
        generalPractitioner=oncologists or None,
    )


def _tumour_text(tumour) -> str:
    return (f"{tumour.get_differentiation_display()} {tumour.get_grade_display()}, "
            f"{tumour.get_primary_site_display().lower()}")


def condition_resource(tumour) -> Condition:
    """The NET: ICD-O-3 morphology as the code (and as mCODE's histology extension), the
    ICD-O-3 topography of the primary site, the stage, and the Ki-67 and grade Observations as
    evidence."""
    patient = tumour.patient
    morphology = codes.morphology(differentiation=tumour.differentiation, grade=tumour.grade)
    evidence = [ref("Observation", ki67_id(patient))] if tumour.ki67_percent is not None else []
    if tumour.grade != "unknown":
        evidence.append(ref("Observation", grade_id(patient)))
    notes = [f"Embryonic origin: {tumour.get_embryonic_origin_display().lower()}.",
             f"Functional syndrome: {tumour.get_functional_syndrome_display().lower()}.",
             "Metastatic or unresectable." if tumour.metastatic_or_unresectable
             else "Localised and resectable."]
    return Condition(
        id=condition_id(patient),
        meta=meta(tumour.updated_at),
        extension=[{"url": codes.MCODE_HISTOLOGY,
                    "valueCodeableConcept": concept(codes.ICD_O_3, morphology)}],
        clinicalStatus=concept(codes.CONDITION_CLINICAL, ("active", "Active")),
        verificationStatus=concept(codes.CONDITION_VERIFICATION, ("confirmed", "Confirmed")),
        category=[concept(codes.CONDITION_CATEGORY, ("problem-list-item", "Problem List Item"))],
        code=concept(codes.ICD_O_3, morphology, text=_tumour_text(tumour)),
        bodySite=[concept(codes.ICD_O_3, codes.TOPOGRAPHY[tumour.primary_site],
                          text=tumour.get_primary_site_display())],
        subject=patient_ref(patient),
        stage=[{"summary": {"text": tumour.stage}}] if tumour.stage else None,
        evidence=[{"detail": evidence}] if evidence else None,
        note=[{"text": " ".join(notes)}],
    )


def ki67_id(patient) -> str:
    return f"ki67-{patient.external_id}"


def grade_id(patient) -> str:
    return f"grade-{patient.external_id}"


def _pathology(patient, *, resource_id: str, loinc: codes.Loinc, updated_at, **value) -> dict:
    return {
        "id": resource_id, "meta": meta(updated_at), "status": "final",
        "category": [concept(codes.OBSERVATION_CATEGORY, ("laboratory", "Laboratory"))],
        "code": concept(codes.LOINC, (loinc.code, loinc.display)),
        "subject": patient_ref(patient), "focus": [ref("Condition", condition_id(patient))],
        "issued": updated_at, **value,
    }


def ki67_observation(tumour) -> Observation:
    """The Ki-67 proliferation index, in percent (UCUM ``%``)."""
    patient = tumour.patient
    return Observation(**_pathology(
        patient, resource_id=ki67_id(patient), loinc=codes.KI67, updated_at=tumour.updated_at,
        valueQuantity={"value": number(tumour.ki67_percent), "unit": "%",
                       "system": codes.UCUM, "code": "%"}))


def grade_observation(tumour) -> Observation:
    """The grade NETcare's rules derived from the differentiation, Ki-67 and mitoses, with the
    rules' explanation."""
    patient = tumour.patient
    note = [{"text": tumour.grade_explanation}] if tumour.grade_explanation else None
    return Observation(**_pathology(
        patient, resource_id=grade_id(patient), loinc=codes.GRADE, updated_at=tumour.updated_at,
        valueCodeableConcept=netcare_concept("tumour-grade", tumour.grade,
                                             tumour.get_grade_display()),
        note=note))

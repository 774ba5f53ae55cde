"""DocumentReference: the written radiation-safety instructions of each infusion given, and the
course letter that refers the patient back once it was sent. Each points at its PDF as a FHIR
Binary (``Binary/<id>``), made when it is read."""

from __future__ import annotations

from fhir.resources.R4B.documentreference import DocumentReference

from interop.fhir.mapping import (
    meta,
    netcare_concept,
    organization_ref,
    patient_ref,
    practitioner_ref,
    ref,
)


def instructions_id(cycle) -> str:
    return f"instructions-{cycle.external_id}"


def letter_id(letter) -> str:
    return f"letter-{letter.external_id}"


def _pdf(document_id: str, title: str, created) -> dict:
    return {"attachment": {"contentType": "application/pdf", "language": "en",
                           "url": f"Binary/{document_id}", "title": title,
                           "creation": created}}


def instructions_document(administration) -> DocumentReference:
    """The precautions for the days after the infusion of one cycle."""
    cycle = administration.cycle
    course = cycle.course
    title = f"Radiation-safety instructions, cycle {cycle.number}"
    return DocumentReference(
        id=instructions_id(cycle),
        meta=meta(administration.recorded_at),
        status="current",
        docStatus="final",
        type=netcare_concept("document-type", "radiation-safety-instructions",
                             "Radiation-safety instructions"),
        subject=patient_ref(course.patient),
        date=administration.recorded_at,
        custodian=organization_ref(course.centre),
        description=title,
        content=[_pdf(instructions_id(cycle), title, administration.administered_at)],
        context={"related": [ref("CarePlan", course.external_id),
                             ref("MedicationAdministration", administration.external_id)]},
    )


def letter_document(letter) -> DocumentReference:
    """The sent course letter (drafts stay with the centre's team)."""
    course = letter.course
    title = "Course letter: referral back after PRRT"
    return DocumentReference(
        id=letter_id(letter),
        meta=meta(letter.updated_at),
        status="current",
        docStatus="final",
        type=netcare_concept("document-type", "course-letter", "Course letter (referral back)"),
        subject=patient_ref(letter.patient),
        date=letter.sent_at,
        author=[practitioner_ref(letter.sent_by)] if letter.sent_by_id else None,
        custodian=organization_ref(course.centre),
        description=title,
        content=[_pdf(letter_id(letter), title, letter.sent_at)],
        context={"related": [ref("CarePlan", course.external_id),
                             ref("ServiceRequest", course.referral.external_id)]},
    )

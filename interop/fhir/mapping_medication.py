"""MedicationAdministration: each PRRT dose in GBq, the octreotide LAR given after each infusion,
and every other SSA injection (maintenance LAR, lanreotide, short-acting octreotide). Each
gives the NET as its reason (mCODE's CancerRelatedMedicationAdministration asks for one)."""

from __future__ import annotations

from fhir.resources.R4B.medicationadministration import MedicationAdministration

from interop.fhir import codes
from interop.fhir.mapping import (
    concept,
    condition_id,
    latest,
    meta,
    number,
    patient_ref,
    practitioner_ref,
    ref,
)
from interop.fhir.mapping_care import cycle_extension, has_tumour


def lar_id(administration) -> str:
    """The LAR injection recorded with an infusion."""
    return f"lar-{administration.external_id}"


def _reason(patient) -> list[dict] | None:
    return [ref("Condition", condition_id(patient))] if has_tumour(patient) else None


def dose_administration(administration, *, amended_at=None) -> MedicationAdministration:
    """One PRRT infusion: the activity given in GBq (UCUM), intravenously, part of the course.
    `amended_at`: the latest amendment's time, when the record was corrected."""
    cycle = administration.cycle
    course = cycle.course
    notes = [{"text": administration.notes}] if administration.notes else []
    if amended_at is not None:
        notes.append({"text": "This record was amended; NETcare keeps every earlier version."})
    return MedicationAdministration(
        id=str(administration.external_id),
        meta=meta(latest(administration.recorded_at, amended_at)),
        extension=[cycle_extension(cycle.number)],
        status="completed",
        category={"text": "PRRT infusion"},
        medicationCodeableConcept=concept(codes.ATC, codes.LUTETIUM_DOTATATE,
                                          text="[177Lu]Lu-DOTA-TATE"),
        subject=patient_ref(course.patient),
        supportingInformation=[ref("CarePlan", course.external_id)],
        effectiveDateTime=administration.administered_at,
        performer=[{"actor": practitioner_ref(administration.recorded_by)}],
        reasonReference=_reason(course.patient),
        note=notes or None,
        dosage={
            "text": f"{number(administration.activity_gbq)} GBq intravenously "
                    f"(cycle {cycle.number})",
            "route": concept(codes.SNOMED, codes.INTRAVENOUS),
            "dose": {"value": number(administration.activity_gbq), "unit": "GBq",
                     "system": codes.UCUM, "code": "GBq"},
        },
    )


def lar_with_infusion(administration) -> MedicationAdministration:
    """The octreotide LAR given 4-24 hours after an infusion (its time is recorded with the
    infusion; the dose is not, so none is claimed)."""
    cycle = administration.cycle
    course = cycle.course
    return MedicationAdministration(
        id=lar_id(administration),
        meta=meta(administration.recorded_at),
        extension=[cycle_extension(cycle.number)],
        status="completed",
        category={"text": "SSA injection after the infusion"},
        medicationCodeableConcept=concept(codes.ATC, codes.OCTREOTIDE, text="Octreotide LAR"),
        subject=patient_ref(course.patient),
        supportingInformation=[ref("CarePlan", course.external_id),
                               ref("MedicationAdministration", administration.external_id)],
        effectiveDateTime=administration.lar_injected_at,
        performer=[{"actor": practitioner_ref(administration.recorded_by)}],
        reasonReference=_reason(course.patient),
        dosage={"text": f"Octreotide LAR intramuscularly after the infusion of cycle "
                        f"{cycle.number}",
                "route": concept(codes.SNOMED, codes.INTRAMUSCULAR)},
    )


def ssa_administration(injection) -> MedicationAdministration:
    """An SSA injection outside an infusion day, with its dose in mg when recorded."""
    label = injection.get_agent_display()
    route = codes.SSA_ROUTE.get(injection.agent)
    dosage = {"text": f"{label}" + (f" {number(injection.dose_mg)} mg" if injection.dose_mg
                                     else "")}
    if route is not None:
        dosage["route"] = concept(codes.SNOMED, route)
    if injection.dose_mg is not None:
        dosage["dose"] = {"value": number(injection.dose_mg), "unit": "mg",
                          "system": codes.UCUM, "code": "mg"}
    medicine = codes.SSA_MEDICINE.get(injection.agent)
    performer = ([{"actor": {"display": injection.given_by}}] if injection.given_by
                 else None)
    notes = [{"text": f"Given at {injection.place}."}] if injection.place else None
    return MedicationAdministration(
        id=str(injection.external_id),
        meta=meta(injection.recorded_at),
        status="completed",
        category={"text": "SSA injection"},
        medicationCodeableConcept=(concept(codes.ATC, medicine, text=label) if medicine
                                   else {"text": label}),
        subject=patient_ref(injection.patient),
        effectiveDateTime=injection.given_at,
        performer=performer,
        reasonReference=_reason(injection.patient),
        note=notes,
        dosage=dosage,
    )

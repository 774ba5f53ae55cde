"""Lab results as Observations: category laboratory, the LOINC code for the analyte in its unit,
the value as a UCUM quantity and the limits of normal as the reference range. A result marked
in error stays, with status ``entered-in-error`` and the reason."""

from __future__ import annotations

from fhir.resources.R4B.observation import Observation

from interop.fhir import codes
from interop.fhir.mapping import concept, latest, meta, number, patient_ref


def quantity(value, unit: str) -> dict:
    result = {"value": number(value), "unit": codes.unit_display(unit)}
    code = codes.ucum(unit)
    if code is not None:
        result |= {"system": codes.UCUM, "code": code}
    return result


def lab_observation(lab) -> Observation:
    loinc = codes.lab_loinc(lab.analyte, lab.unit)
    label = lab.get_analyte_display()
    code = (concept(codes.LOINC, (loinc.code, loinc.display), text=label) if loinc
            else {"text": label})
    reference_range = {}
    if lab.lln is not None:
        reference_range["low"] = quantity(lab.lln, lab.unit)
    if lab.uln is not None:
        reference_range["high"] = quantity(lab.uln, lab.unit)
    note = None
    if lab.entered_in_error:
        note = [{"text": f"Entered in error: {lab.error_reason}"}]
    return Observation(
        id=str(lab.external_id),
        meta=meta(latest(lab.entered_at, lab.marked_in_error_at)),
        status="entered-in-error" if lab.entered_in_error else "final",
        category=[concept(codes.OBSERVATION_CATEGORY, ("laboratory", "Laboratory"))],
        code=code,
        subject=patient_ref(lab.patient),
        effectiveDateTime=lab.collected_at,
        issued=lab.entered_at,
        valueQuantity=quantity(lab.value, lab.unit),
        referenceRange=[reference_range] if reference_range else None,
        note=note,
    )

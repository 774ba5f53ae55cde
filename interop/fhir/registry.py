"""Which NETcare records each FHIR resource type is made of, and how to find them.

A resource type has one or more :class:`Source` (Observation: lab results, Ki-67 and the grade;
MedicationAdministration: PRRT doses, the LAR given with them and other SSA injections). Each
source knows its queryset (with the related rows its mapping reads, so a page is a fixed number
of queries), the lookup from its model to the Patient (for netcare.access), the id it gives its
resources (a NETcare UUID, with a prefix where one record makes several resources), the time it
was last updated (for ``_lastUpdated``), and its mapping function.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db.models import Expression, F, Max, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest

from coordinators.models import CareTask, ReferralLetter
from interop.fhir import (
    codes,
    mapping_care,
    mapping_documents,
    mapping_labs,
    mapping_medication,
    mapping_patient,
)
from netcare import access
from patients.models import LabResult, Patient, TumourProfile
from prrt.models import Administration, Cycle, SSAInjection, TreatmentCourse
from referrals.models import Referral


@dataclass(frozen=True)
class Source:
    """One kind of NETcare record behind a FHIR resource type."""

    queryset: Callable[[], QuerySet]
    patient_path: str
    to_resource: Callable[[Any], Any]
    updated: Callable[[], Expression]
    prefix: str = ""
    id_field: str = "external_id"
    order: tuple[str, ...] = ("pk",)
    code_filter: Callable[[set[str]], Q] | None = None

    def scoped(self, user) -> QuerySet:
        """This source's rows of the patients `user` may see (netcare.access), annotated with
        ``fhir_updated``."""
        queryset = access.scope_to_patients(user, self.queryset(),
                                            patient_path=self.patient_path)
        return queryset.annotate(fhir_updated=self.updated()).order_by(*self.order)

    def parse_id(self, resource_id: str) -> uuid.UUID | None:
        """The NETcare UUID an id of this source carries, or None when it is not one of its."""
        if not resource_id.startswith(self.prefix):
            return None
        rest = resource_id[len(self.prefix):]
        if self.prefix == "" and "-" in rest and len(rest) != 36:
            return None
        try:
            return uuid.UUID(rest)
        except ValueError:
            return None

    def patient_of(self, obj) -> Patient:
        target = obj
        for name in filter(None, self.patient_path.split("__")):
            target = getattr(target, name)
        return target

    def for_patient(self, patient: Patient) -> Q:
        field = f"{self.patient_path}__pk" if self.patient_path else "pk"
        return Q(**{field: patient.pk})


def _field(name: str) -> Callable[[], Expression]:
    return lambda: F(name)


# --- the querysets (each loads what its mapping reads) -----------------------------------------

def _patients() -> QuerySet:
    return Patient.objects.select_related("centre", "referring_oncologist",
                                          "primary_oncologist")


def _tumours() -> QuerySet:
    return TumourProfile.objects.select_related("patient")


def _labs() -> QuerySet:
    return LabResult.objects.select_related("patient")


def _referrals() -> QuerySet:
    return Referral.objects.select_related("patient__tumour", "referring_oncologist", "centre")


def _courses() -> QuerySet:
    cycles = Cycle.objects.select_related("administration").order_by("number")
    tasks = CareTask.objects.order_by("due", "kind", "cycle", "sequence", "pk")
    return (TreatmentCourse.objects.select_related("patient__tumour", "centre", "referral")
            .prefetch_related(Prefetch("cycles", queryset=cycles),
                              Prefetch("care_tasks", queryset=tasks)))


def _care_plan(course) -> Any:
    cycles = list(course.cycles.all())
    administrations = [cycle.administration for cycle in cycles
                       if hasattr(cycle, "administration")]
    return mapping_care.care_plan(course, tasks=list(course.care_tasks.all()), cycles=cycles,
                                  administrations=administrations)


def _tasks() -> QuerySet:
    return CareTask.objects.select_related(
        "patient", "course__centre", "course__referral__referring_oncologist__centre",
        "owner_user")


def _administrations() -> QuerySet:
    return (Administration.objects
            .select_related("cycle__course__patient__tumour", "cycle__course__centre",
                            "recorded_by")
            .annotate(amended_at=Max("amendments__amended_at")))


def _administration_updated() -> Expression:
    return Greatest("recorded_at", Coalesce("amended_at", "recorded_at"))


def _injections() -> QuerySet:
    return SSAInjection.objects.select_related("patient__tumour")


def _letters() -> QuerySet:
    return (ReferralLetter.objects.filter(state=ReferralLetter.State.SENT)
            .select_related("patient", "course__centre", "course__referral", "sent_by"))


def _lab_codes(asked: set[str]) -> Q:
    """Lab results whose LOINC code is one of `asked`: an analyte's code, except in the units
    that carry a code of their own (creatinine in µmol/L is 14682-9, not 2160-0)."""
    matches = Q(pk__in=[])
    for analyte in LabResult.Analyte.values:
        default = codes.lab_loinc(analyte, None)
        variants = codes.lab_loinc_variants(analyte)
        for code in asked:
            if default is not None and default.code == code:
                matches |= Q(analyte=analyte) & ~Q(unit__in=[
                    unit for unit, loinc in variants.items() if loinc.code != code])
            units = [unit for unit, loinc in variants.items() if loinc.code == code]
            if units:
                matches |= Q(analyte=analyte, unit__in=units)
    return matches


def _tumour_code(code: str) -> Callable[[set[str]], Q]:
    return lambda asked: Q() if code in asked else Q(pk__in=[])


@cache
def resource_types() -> dict[str, list[Source]]:
    """Each FHIR resource type NETcare serves, with its sources in paging order."""
    return {
        "Patient": [Source(_patients, "", mapping_patient.patient_resource,
                           _field("updated_at"))],
        "Condition": [Source(_tumours, "patient", mapping_patient.condition_resource,
                             _field("updated_at"), prefix="net-",
                             id_field="patient__external_id")],
        "Observation": [
            Source(lambda: _tumours().filter(ki67_percent__isnull=False), "patient",
                   mapping_patient.ki67_observation, _field("updated_at"), prefix="ki67-",
                   id_field="patient__external_id", code_filter=_tumour_code(codes.KI67.code)),
            Source(lambda: _tumours().exclude(grade=TumourProfile.Grade.UNKNOWN), "patient",
                   mapping_patient.grade_observation, _field("updated_at"), prefix="grade-",
                   id_field="patient__external_id", code_filter=_tumour_code(codes.GRADE.code)),
            Source(_labs, "patient", mapping_labs.lab_observation,
                   lambda: Greatest("entered_at", Coalesce("marked_in_error_at", "entered_at")),
                   code_filter=_lab_codes),
        ],
        "ServiceRequest": [Source(_referrals, "patient", mapping_care.service_request,
                                  _field("updated_at"))],
        "CarePlan": [Source(_courses, "patient", _care_plan, _field("updated_at"))],
        "Task": [Source(_tasks, "patient", mapping_care.task_resource, _field("updated_at"),
                        order=("due", "kind", "cycle", "sequence", "pk"))],
        "Appointment": [Source(lambda: _tasks().filter(appointment_at__isnull=False),
                               "patient", mapping_care.appointment_resource,
                               _field("updated_at"), order=("appointment_at", "pk"))],
        "MedicationAdministration": [
            Source(_administrations, "cycle__course__patient",
                   lambda a: mapping_medication.dose_administration(a, amended_at=a.amended_at),
                   _administration_updated),
            Source(lambda: _administrations().filter(lar_injected_at__isnull=False),
                   "cycle__course__patient", mapping_medication.lar_with_infusion,
                   _administration_updated, prefix="lar-"),
            Source(_injections, "patient", mapping_medication.ssa_administration,
                   lambda: Coalesce("recorded_at", "given_at")),
        ],
        "DocumentReference": [
            Source(_administrations, "cycle__course__patient",
                   mapping_documents.instructions_document, _field("recorded_at"),
                   prefix="instructions-", id_field="cycle__external_id"),
            Source(_letters, "patient", mapping_documents.letter_document,
                   _field("updated_at"), prefix="letter-"),
        ],
    }


def sources_for(resource_type: str, resource_id: str) -> list[tuple[Source, uuid.UUID]]:
    """The sources of `resource_type` an id may belong to (several sources may share ids that
    are bare UUIDs: a PRRT dose and an SSA injection), with the UUID it carries."""
    found = []
    for source in resource_types().get(resource_type, []):
        parsed = source.parse_id(resource_id)
        if parsed is not None:
            found.append((source, parsed))
    return found

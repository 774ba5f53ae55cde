"""A seeded PRRT course for the FHIR tests: the four cycles of the course-letter tests (one
withheld, one at 3.7 GBq), a creatinine in µmol/L, a result marked in error, a maintenance LAR
injection, a booked CT, and the course letter sent after the last precaution window."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from rest_framework.test import APIClient

from coordinators import letters
from coordinators import services as task_services
from coordinators.models import CareTask, TaskKind, TaskState
from netcare import access
from patients.services import lab_result_add, lab_result_mark_in_error
from prrt.injections import ssa_injection_record
from tests.coordinators.letter_builders import C4_GIVEN, finished_course, move
from tests.factories import UserFactory
from tests.prrt.builders import at

FHIR = "/fhir/R4"
AFTER_WINDOW = C4_GIVEN + dt.timedelta(days=8)


def seeded_course(*, centre, oncologist, specialist, navigator, time_machine):
    course = finished_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             navigator=navigator, time_machine=time_machine)
    patient = course.patient
    move(time_machine, AFTER_WINDOW)
    lab_result_add(actor=navigator, patient=patient, analyte="creatinine", value="84",
                   unit="umol/L", collected_at=at(AFTER_WINDOW - dt.timedelta(days=1), 8))
    wrong = lab_result_add(actor=navigator, patient=patient, analyte="platelets", value="21",
                           unit="10^9/L", collected_at=at(AFTER_WINDOW - dt.timedelta(days=1)))
    lab_result_mark_in_error(actor=navigator, result=wrong, reason="Another patient's sample.")
    ssa_injection_record(actor=navigator, patient=patient, agent="octreotide_lar",
                         given_at=at(AFTER_WINDOW - dt.timedelta(days=1), 11),
                         dose_mg=Decimal("30"), given_by="Practice nurse", place="Hillview")
    imaging = CareTask.objects.filter(course=course, kind=TaskKind.IMAGING,
                                      state=TaskState.OPEN).order_by("due").first()
    task_services.task_set_appointment(
        actor=navigator, task=imaging,
        at=dt.datetime.combine(imaging.due, dt.time(10, 30), tzinfo=dt.UTC),
        place="CT suite 2", note="Bring the last report.")
    letters.letter_prepare(actor=specialist, course=course)
    letters.letter_send(actor=navigator, course=course)
    course.refresh_from_db()
    return course


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def system_client(centre, *scopes: str) -> APIClient:
    """A registered system's service account (no role, bound to `centre`), signed in with
    `scopes` as interop.auth marks it after checking its token."""
    account = UserFactory(role="", centre=centre, first_name="Lab", last_name="System")
    return client_for(access.as_system(account, scopes))

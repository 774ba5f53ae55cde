"""Input that used to be a server error is refused with a 400 naming the field: a lab without a
unit, an absurd `?limit=`, OPTIONS on the tumour route, dates out of the calendar (year 9999,
year 1) and naive datetimes. Every date NETcare takes has bounds, on the pages and through the
API alike: from 1900; what happened (a birth, a lab, a scan, an infusion) not after today; what
is planned (a first dose, a booking, a snooze, an appointment, a consult) at most two years
ahead. And an infusion given on another day than planned never breaks the patient page or the
radiation-safety PDF."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest
from django.urls import get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from pypdf import PdfReader
from rest_framework import serializers

from coordinators.models import CareTask, TaskKind
from coordinators.plan import plan_sync
from netcare.api import (
    AwareDateTimeField,
    PastDateField,
    PastDateTimeField,
    PlanDateField,
)
from netcare.clock import plan_horizon
from patients.models import LabResult, Patient
from prrt import services as prrt_services
from prrt.models import Cycle, TreatmentCourse
from referrals.models import ReferralState
from tests.apiclient import (
    API,
    VALID_ADVERSE_EVENT,
    VALID_IMAGING,
    VALID_LAB,
    VALID_PERFORMANCE,
    VALID_TUMOUR,
    client_for,
    make_referral,
)
from tests.factories import ReferralFactory
from tests.prrt.builders import approved_course, enter_labs, give

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
C1 = dt.date(2025, 1, 6)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def course(now, centre, oncologist, specialist, navigator):
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


def refused(response, field: str) -> list[str]:
    """The 400 names `field` (and only it) with readable messages."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()["errors"]
    assert list(body) == [field], body
    assert all(isinstance(m, str) and m for m in body[field]), body
    return body[field]


# --- a lab without a unit ---------------------------------------------------------------------


def labs_url(patient) -> str:
    return f"{API}/patients/{patient.external_id}/labs/"


def test_a_lab_without_a_unit_is_refused_naming_the_unit(patient, navigator):
    lab = {k: v for k, v in VALID_LAB.items() if k != "unit"}
    refused(client_for(navigator).post(labs_url(patient), lab, format="json"), "unit")
    assert not LabResult.objects.exists()


def test_a_plain_number_needs_no_unit(now, patient, navigator):
    inr = {"analyte": "inr", "value": "1.1", "collected_at": "2024-12-16T08:00:00Z"}
    response = client_for(navigator).post(labs_url(patient), inr, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["unit"] == ""


@pytest.mark.parametrize(("route", "body"), [
    ("labs", VALID_LAB), ("imaging", VALID_IMAGING), ("adverse-events", VALID_ADVERSE_EVENT),
    ("performance-status", VALID_PERFORMANCE),
])
def test_a_record_missing_any_field_is_a_400_never_a_500(patient, navigator, route, body):
    client = client_for(navigator)
    url = f"{API}/patients/{patient.external_id}/{route}/"
    for left_out in body:
        data = {k: v for k, v in body.items() if k != left_out}
        response = client.post(url, data, format="json")
        assert response.status_code in (201, 400), (left_out, response.status_code)
        if response.status_code == 400:
            assert response.json()["field"] in (left_out, "unit"), response.json()
    assert client.post(url, {}, format="json").status_code == 400


# --- ?limit= ----------------------------------------------------------------------------------


LISTS = ["patients", "referrals", "courses", "cycles", "care-tasks", "ssa-injections"]


@pytest.mark.parametrize("route", LISTS)
@pytest.mark.parametrize("limit", ["99999999999999999999", "0", "-1", "abc", "1001", "1e3",
                                   "١٠", "9" * 5000])
def test_a_limit_out_of_range_is_a_400_naming_limit(patient, navigator, route, limit):
    response = client_for(navigator).get(f"{API}/{route}/", {"limit": limit})
    [message] = refused(response, "limit")
    assert message == "Give a whole number from 1 to 1000."


@pytest.mark.parametrize("route", LISTS)
def test_limits_in_range_and_huge_offsets_are_answered(patient, navigator, route):
    client = client_for(navigator)
    assert client.get(f"{API}/{route}/", {"limit": "1000"}).status_code == 200
    assert client.get(f"{API}/{route}/", {"limit": "1"}).status_code == 200
    assert client.get(f"{API}/{route}/", {"offset": "99999999999999999999"}).status_code == 200


# --- OPTIONS ----------------------------------------------------------------------------------


def api_paths(course, patient) -> list[str]:
    """Every /api/v1/ route, with real ids where there are objects (others are a 404)."""
    cycle = course.cycles.get(number=1)
    referral = make_referral(patient)
    task = CareTask.objects.filter(course=course).first()
    object_ids = {"patient": course.patient, "referral": referral, "course": course,
                  "cycle": cycle, "care-task": task}
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    paths = []
    for pattern in api.url_patterns:
        path = (str(pattern.pattern)
                .replace("<uuid:patient_id>", str(course.patient.external_id))
                .replace("<uuid:referral_id>", str(referral.external_id))
                .replace("<uuid:cycle_id>", str(cycle.external_id)))
        basename = pattern.name.rsplit("-", 1)[0]
        obj = object_ids.get(basename) or object_ids.get(pattern.name.split("-")[0])
        path = path.replace("<uuid:id>", str(obj.external_id if obj else uuid.uuid4()))
        paths.append(f"{API}/{path}")
    return paths


def test_options_never_fails_on_any_route(course, patient, specialist, navigator):
    plan_sync(course=course, today=TODAY)
    client = client_for(specialist)
    paths = api_paths(course, patient)
    assert f"{API}/patients/{course.patient.external_id}/tumour/" in paths
    for path in paths:
        response = client.options(path)
        assert response.status_code in (200, 404, 405), (path, response.status_code)


def test_options_on_the_tumour_route_describes_it(patient, navigator):
    url = f"{API}/patients/{patient.external_id}/tumour/"
    client = client_for(navigator)
    assert client.options(url).status_code == 200  # no profile yet
    assert client.put(url, VALID_TUMOUR, format="json").status_code == 201
    response = client.options(url)
    assert response.status_code == 200
    assert "PUT" in response.json()["actions"]
    assert client.get(url).status_code == 200


# --- planned dates: 1900 to two years ahead ---------------------------------------------------


def test_the_horizon_is_two_years(now):
    assert plan_horizon(dt.date(2024, 12, 17)) == dt.date(2026, 12, 17)
    assert plan_horizon(dt.date(2024, 2, 29)) == dt.date(2026, 2, 28)


@pytest.mark.parametrize("day", ["9999-12-31", "9999-01-01", "2026-12-18"])
def test_a_first_dose_beyond_two_years_is_refused(now, patient, specialist, client, day):
    referral = ReferralFactory(patient=patient, state=ReferralState.ACCEPTED)
    response = client_for(specialist).post(f"{API}/courses/", {
        "referral": str(referral.external_id), "planned_first_dose": day}, format="json")
    refused(response, "planned_first_dose")
    # The page refuses it too, with the reason, and opens nothing.
    client.force_login(specialist)
    response = client.post(
        reverse("prrt:course-open", args=[referral.external_id]), {"planned_first_dose": day},
        follow=True)
    assert response.status_code == 200
    assert "more than 2 years ahead" in response.content.decode()
    assert not TreatmentCourse.objects.exists()


def test_a_first_dose_two_years_ahead_is_planned(now, patient, specialist):
    referral = ReferralFactory(patient=patient, state=ReferralState.ACCEPTED)
    response = client_for(specialist).post(f"{API}/courses/", {
        "referral": str(referral.external_id), "planned_first_dose": "2026-12-17"},
        format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["cycles"][-1]["planned_date"] == "2027-06-03"


@pytest.mark.parametrize("day", ["9999-12-31", "9999-01-01", "2026-12-18"])
def test_a_booking_beyond_two_years_is_refused(course, navigator, client, day):
    cycle = course.cycles.get(number=1)
    response = client_for(navigator).post(
        f"{API}/cycles/{cycle.external_id}/reschedule/",
        {"planned_date": day, "reason": "Patient abroad."}, format="json")
    refused(response, "planned_date")
    client.force_login(navigator)
    response = client.post(reverse("prrt:cycle-book", args=[cycle.external_id]),
                           {"booked_date": day, "reason": "Patient abroad."})
    assert response.status_code == 400
    assert "more than 2 years ahead" in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.booked_date is None and cycle.planned_date == C1


def test_a_booking_before_1900_is_refused_by_the_service(course, navigator):
    from netcare.workflow import TransitionInvalid
    from prrt.bookings import cycle_book

    with pytest.raises(TransitionInvalid) as refusal:
        cycle_book(actor=navigator, cycle=course.cycles.get(number=1),
                   booked_date=dt.date(1, 1, 1), reason="x")
    assert refusal.value.field == "booked_date"


def test_a_snooze_or_an_appointment_in_year_9999_is_refused(course, navigator):
    plan_sync(course=course, today=TODAY)
    task = CareTask.objects.get(course=course, kind=TaskKind.INFUSION, cycle=1)
    client = client_for(navigator)
    url = f"{API}/care-tasks/{task.external_id}"
    refused(client.post(f"{url}/snooze/", {"until": "9999-12-31", "reason": "Away."},
                        format="json"), "until")
    refused(client.post(f"{url}/appointment/", {"at": "9999-12-31T09:00:00+00:00"},
                        format="json"), "at")
    refused(client.post(f"{url}/appointment/", {"at": "2025-01-06T09:00:00"},
                        format="json"), "at")  # naive
    task.refresh_from_db()
    assert task.snoozed_until is None and task.appointment_at is None


def test_a_consult_in_year_9999_or_without_time_zone_is_refused(now, patient, specialist):
    referral = make_referral(patient, state=ReferralState.ACCEPTED)
    client = client_for(specialist)
    url = f"{API}/referrals/{referral.external_id}/book_consult/"
    refused(client.post(url, {"consult_at": "9999-12-31T09:00:00+00:00"}, format="json"),
            "consult_at")
    refused(client.post(url, {"consult_at": "2025-01-02T09:00:00"}, format="json"),
            "consult_at")
    ok = client.post(url, {"consult_at": "2025-01-02T09:00:00+00:00"}, format="json")
    assert ok.status_code == 200, ok.json()


# --- what happened: 1900 to today, with its time zone ------------------------------------------


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "9999-12-31", "2024-12-18"])
def test_a_birth_date_out_of_range_is_refused(now, patient, navigator, oncologist, day):
    refused(client_for(navigator).patch(f"{API}/patients/{patient.external_id}/",
                                        {"date_of_birth": day}, format="json"), "date_of_birth")
    refused(client_for(oncologist).post(f"{API}/patients/", {
        "centre": str(patient.centre.external_id), "given_name": "Ada", "family_name": "Byron",
        "date_of_birth": day, "sex": "F"}, format="json"), "date_of_birth")
    patient.refresh_from_db()
    assert patient.date_of_birth.year not in (1, 1899, 9999)


def test_a_birth_date_in_range_is_taken(now, patient, navigator):
    response = client_for(navigator).patch(f"{API}/patients/{patient.external_id}/",
                                           {"date_of_birth": "1900-01-01"}, format="json")
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("moment", [
    "0001-01-01T08:00:00Z", "1899-12-31T23:00:00Z", "9999-12-31T08:00:00Z",
    "2024-12-18T08:00:00Z", "2024-12-16T08:00:00",  # tomorrow; naive
])
def test_a_lab_time_out_of_range_or_naive_is_refused(now, patient, navigator, moment):
    refused(client_for(navigator).post(labs_url(patient), {**VALID_LAB, "collected_at": moment},
                                       format="json"), "collected_at")
    assert not LabResult.objects.exists()


@pytest.mark.parametrize(("route", "body", "field"), [
    ("imaging", VALID_IMAGING, "performed_on"),
    ("adverse-events", VALID_ADVERSE_EVENT, "onset_on"),
    ("performance-status", VALID_PERFORMANCE, "assessed_on"),
])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2024-12-18"])
def test_a_record_date_out_of_range_is_refused(now, patient, navigator, route, body, field,
                                               day):
    response = client_for(navigator).post(f"{API}/patients/{patient.external_id}/{route}/",
                                          {**body, field: day}, format="json")
    refused(response, field)


@pytest.mark.parametrize("moment", ["0001-01-01T10:00:00Z", "1899-06-01T10:00:00+00:00",
                                    "9999-01-01T10:00:00Z", "2025-01-06T10:00:00"])
def test_an_administration_out_of_range_or_naive_is_refused(course, specialist, navigator,
                                                             time_machine, moment):
    time_machine.move_to(dt.datetime(2025, 1, 6, 17, 0, tzinfo=dt.UTC), tick=False)
    enter_labs(specialist, course.patient, dt.date(2025, 1, 4))
    cycle = prrt_services.cycle_refresh(cycle=course.cycles.get(number=1),
                                        today=dt.date(2025, 1, 4))
    prrt_services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                               activity_gbq=Decimal("7.4"), today=dt.date(2025, 1, 5))
    response = client_for(navigator).post(f"{API}/cycles/{cycle.external_id}/administer/", {
        "administered_at": moment, "activity_gbq": "7.4", "no_short_acting_ssa_24h": True},
        format="json")
    refused(response, "administered_at")


@pytest.mark.parametrize("moment", ["1899-06-01T10:00:00+00:00", "2024-12-16T10:00:00"])
def test_an_ssa_injection_out_of_range_or_naive_is_refused(now, patient, navigator, moment):
    response = client_for(navigator).post(f"{API}/ssa-injections/", {
        "patient": str(patient.external_id), "agent": "octreotide_lar", "given_at": moment,
        "dose_mg": "30"}, format="json")
    refused(response, "given_at")


def test_a_task_done_in_year_1_is_refused(course, navigator):
    plan_sync(course=course, today=TODAY)
    task = CareTask.objects.get(course=course, kind=TaskKind.INFUSION, cycle=1)
    response = client_for(navigator).post(f"{API}/care-tasks/{task.external_id}/done/",
                                          {"done_at": "0001-01-01T10:00:00Z"}, format="json")
    refused(response, "done_at")


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_the_patient_pages_refuse_the_same_dates(now, patient, navigator, client, day):
    client.force_login(navigator)
    page = f"/patients/{patient.external_id}"
    for url, data in [
        (f"{page}/labs/", {"collected_on": day, "platelets_value": "200",
                           "platelets_unit": "10^9/L"}),
        (f"{page}/adverse-events/", {"ae-term": "Nausea", "ae-category": "other",
                                     "ae-ctcae_grade": "1", "ae-onset_on": day}),
        (f"{page}/ssa-injections/", {"agent": "octreotide_lar", "given_at": f"{day}T10:00",
                                     "dose_mg": "30"}),
        (f"{page}/contacts/", {"kind": "call", "party": "patient",
                               "occurred_at": f"{day}T10:00", "summary": "Called."}),
    ]:
        assert client.post(url, data).status_code == 400, url
    assert not patient.labs.exists() and not patient.adverse_events.exists()


# --- one definition everywhere ----------------------------------------------------------------


BOUNDED = (PlanDateField, PastDateField, AwareDateTimeField)


def request_serializers() -> dict[str, serializers.Serializer]:
    """The serializer of every request body the API documents, by component name."""
    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    names = {content["schema"]["$ref"].rsplit("/", 1)[-1]
             for item in schema["paths"].values() for operation in item.values()
             for content in operation.get("requestBody", {}).get("content", {}).values()
             if "$ref" in content["schema"]}
    components = {c.name: c.object for c in generator.registry._components.values()}
    return {name: components[name] for name in names}


def test_every_date_the_api_takes_is_bounded_and_every_time_aware():
    checked = []
    for name, serializer in request_serializers().items():
        instance = serializer if isinstance(serializer, serializers.Serializer) else serializer()
        for field_name, field in instance.fields.items():
            if field.read_only or not isinstance(field, serializers.DateField
                                                 | serializers.DateTimeField):
                continue
            checked.append(f"{name}.{field_name}")
            assert isinstance(field, BOUNDED), f"{name}.{field_name}: {type(field).__name__}"
    assert {"Patient.date_of_birth", "LabResult.collected_at", "CourseOpen.planned_first_dose",
            "CycleReschedule.planned_date", "CycleAdminister.administered_at",
            "CareTaskSnooze.until", "CareTaskAppointmentSet.at", "Transition.consult_at",
            "SSAInjectionCreate.given_at"} <= set(checked), checked
    assert issubclass(PastDateTimeField, AwareDateTimeField)


# --- an infusion given on another day than planned ---------------------------------------------


@pytest.mark.parametrize("offset_days", [2, -1])
def test_an_infusion_off_its_planned_day_keeps_the_pages_and_the_pdf(
        centre, oncologist, specialist, navigator, client, time_machine, offset_days):
    time_machine.move_to(NOW, tick=False)
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=C1)
    plan_sync(course=course, today=TODAY)
    given_on = C1 + dt.timedelta(days=offset_days)
    time_machine.move_to(dt.datetime.combine(given_on - dt.timedelta(days=2), dt.time(9),
                                             tzinfo=dt.UTC), tick=False)
    enter_labs(specialist, course.patient, given_on - dt.timedelta(days=2))
    cycle = prrt_services.cycle_refresh(cycle=course.cycles.get(number=1),
                                        today=given_on - dt.timedelta(days=2))
    prrt_services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                               activity_gbq=Decimal("7.4"),
                               today=given_on - dt.timedelta(days=1))
    time_machine.move_to(dt.datetime.combine(given_on, dt.time(17), tzinfo=dt.UTC), tick=False)
    give(navigator, course.cycles.get(number=1), given_on)
    cycle = Cycle.objects.get(pk=cycle.pk)
    assert cycle.administration.administered_at.date() == given_on != C1

    client.force_login(navigator)
    page = client.get(reverse("patients:detail", args=[course.patient.external_id]))
    assert page.status_code == 200
    pdf = client.get(reverse("prrt:cycle-instructions", args=[cycle.external_id]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
                    .split())
    assert f"{given_on:%A} {given_on.day} {given_on:%B %Y}" in text
    assert client.get(reverse("prrt:course", args=[course.external_id])).status_code == 200
    assert Patient.objects.filter(pk=course.patient.pk).exists()

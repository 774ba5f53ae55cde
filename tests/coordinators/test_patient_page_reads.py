"""The patient page's reads, written in SQL (patients.selectors, and the page's own reads of the
course, the plan and the contact log in coordinators.patient_reads): the rows, their order and
every value the page uses are the ORM's; what a row names comes joined, as select_related and
prefetch_related leave it (reading it runs no query); a patient out of scope is a 404; and the
days and times the page writes are the template's date filter's."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.http import Http404
from django.template import engines
from django.test import RequestFactory
from django.urls import reverse

from coordinators import patient_reads as views
from coordinators import patient_views
from coordinators.models import CareTask, ContactLogEntry, OwnerParty, TaskKind, TaskState
from netcare.models import Role
from patients import selectors
from patients.models import (
    AdverseEvent,
    ImagingStudy,
    LabResult,
    Patient,
    PerformanceStatus,
    TumourProfile,
)
from prrt import clinical, schedule
from prrt.models import Administration, Cycle, CycleDecision, SSAInjection, TreatmentCourse
from tests.factories import PatientFactory, ReferralFactory, UserFactory
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC)  # the course fixture's clock
TODAY = NOW.date()


def loaded(instance) -> dict:
    """The values of the fields `instance` holds (its deferred ones left out)."""
    deferred = instance.get_deferred_fields()
    return {field.attname: getattr(instance, field.attname)
            for field in instance._meta.concrete_fields if field.attname not in deferred}


def same_values(read, orm) -> None:
    """Every field `read` holds has the ORM's value, of the same type (a Decimal with its
    places, a UUID, an aware time, JSON as Python)."""
    values = loaded(read)
    expected = {name: getattr(orm, name) for name in values}
    assert values == expected
    assert {name: (type(value), str(value)) for name, value in values.items()} == {
        name: (type(value), str(value)) for name, value in expected.items()}


def add_task(course, *, kind=TaskKind.LAR_MAINTENANCE, sequence=1, due=TODAY, owner_user=None,
             **extra) -> CareTask:
    return CareTask.objects.create(
        course=course, patient=course.patient, kind=kind, sequence=sequence,
        owner_party=OwnerParty.USER if owner_user else OwnerParty.CENTRE, owner_user=owner_user,
        earliest=due - dt.timedelta(days=2), due=due, latest=due + dt.timedelta(days=2),
        **extra)


def decide(cycle, user, decision, categories=()) -> CycleDecision:
    return CycleDecision.objects.create(
        cycle=cycle, decision=decision, categories=list(categories), recommended_action=decision,
        recommendation={"action": decision}, labs_snapshot={}, follows_recommendation=True,
        decided_by=user)


# --- the record ------------------------------------------------------------------------------


def test_the_record_is_the_orms_with_what_it_names_joined(navigator, oncologist2, course):
    patient = course.patient
    Patient.objects.filter(pk=patient.pk).update(
        primary_oncologist=oncologist2, pregnancy="excluded", pregnancy_tested_on=TODAY,
        pregnancy_recorded_by=navigator, pregnancy_recorded_at=NOW, weight_kg=Decimal("84.0"))
    orm = Patient.objects.select_related(
        "centre", "referring_oncologist", "primary_oncologist", "pregnancy_recorded_by",
        "tumour").get(pk=patient.pk)
    with assert_queries(1):
        record = selectors.patient_page_record_for(navigator, patient.external_id)
    with assert_queries(0):
        same_values(record, orm)
        assert str(record.weight_kg) == "84.0"
        same_values(record.centre, orm.centre)
        assert record.centre.rules_settings == orm.centre.rules_settings
        for name in ("referring_oncologist", "primary_oncologist", "pregnancy_recorded_by"):
            assert str(getattr(record, name)) == str(getattr(orm, name))
        same_values(record.tumour, orm.tumour)
        assert record.tumour.patient is record
        assert record.tumour.get_grade_display() == orm.tumour.get_grade_display()
    assert set(record.get_deferred_fields()) == {"created_at", "updated_at"}


def test_a_record_without_a_tumour_profile_or_primary_oncologist(navigator, patient):
    record = selectors.patient_page_record_for(navigator, patient.external_id)
    with assert_queries(0), pytest.raises(TumourProfile.DoesNotExist):
        record.tumour  # noqa: B018 (as select_related leaves it: no row, no query)
    with assert_queries(0):
        assert record.primary_oncologist is None and record.pregnancy_recorded_by is None


@pytest.mark.parametrize(("persona", "sees"), [
    ("navigator", True), ("specialist", True), ("oncologist", True), ("primary", True),
    ("outside_navigator", False), ("oncologist2", False), ("administrator", False),
])
def test_the_record_is_read_in_the_users_scope(request, patient, persona, sees):
    if persona == "primary":
        user = UserFactory(role=Role.REFERRING_ONCOLOGIST)
        Patient.objects.filter(pk=patient.pk).update(primary_oncologist=user)
    else:
        user = request.getfixturevalue(persona)
    if sees:
        assert selectors.patient_page_record_for(user, patient.external_id).pk == patient.pk
    else:
        with pytest.raises(Http404):
            selectors.patient_page_record_for(user, patient.external_id)


def test_an_unknown_or_malformed_id_is_a_404(navigator, patient):
    for external_id in (uuid.uuid4(), "not-a-uuid"):
        with pytest.raises(Http404):
            selectors.patient_page_record_for(navigator, external_id)


# --- the course, its cycles and the plan ------------------------------------------------------


def test_the_course_and_cycles_are_the_orms_and_the_plan_reads_them_as_is(navigator,
                                                                           specialist, course):
    first, second = course.cycles.order_by("number")[:2]
    Administration.objects.create(
        cycle=first, administered_at=dt.datetime(2025, 1, 6, 10, tzinfo=dt.UTC),
        activity_gbq=Decimal("7.40"), no_short_acting_ssa_24h=True, recorded_by=navigator,
        lar_injected_at=dt.datetime(2025, 1, 6, 16, tzinfo=dt.UTC), warnings=["Reduced."])
    decide(first, specialist, "approve")
    decide(second, specialist, "withhold", ["thrombocytopenia"])
    decide(second, specialist, "withhold", ["neutropenia"])
    orm = list(Cycle.objects.filter(course=course).select_related("course__centre",
                                                                   "administration")
               .prefetch_related("decisions").order_by("number"))

    course, patient = orm[0].course, course.patient
    with assert_queries(2):  # the course with its cycles, their decisions
        read_course, cycles = views.course_and_cycles(patient)
    with assert_queries(0):
        same_values(read_course, course)
        same_values(read_course.centre, course.centre)
        assert [cycle.pk for cycle in cycles] == [cycle.pk for cycle in orm]
        for cycle, expected in zip(cycles, orm, strict=True):
            same_values(cycle, expected)
            assert cycle.course is read_course and cycle.centre_id == course.centre_id
            given = patient_views._administration(cycle)
            assert (given is None) == (patient_views._administration(expected) is None)
            if given is not None:
                same_values(given, expected.administration)
            decisions = list(cycle.decisions.all())
            assert [d.pk for d in decisions] == [d.pk for d in expected.decisions.all()]
            for decision, other in zip(decisions, expected.decisions.all(), strict=True):
                same_values(decision, other)
        # The rules read the same history and plan from them, with no query of their own.
        history = clinical.course_history(read_course, cycles)
        assert history.as_rules() == clinical.course_history(course, orm).as_rules()
        assert schedule.course_plan_events(read_course, cycles=cycles) == (
            schedule.course_plan_events(course, cycles=orm))


def test_the_latest_course_is_read_even_without_cycles(centre, specialist, course):
    patient = course.patient
    newer = TreatmentCourse.objects.create(
        patient=patient, centre=centre, planned_first_dose=TODAY + dt.timedelta(days=90),
        referral=ReferralFactory(patient=patient))
    with assert_queries(1):  # no cycles: no decisions to read
        assert views.course_and_cycles(patient) == (newer, [])
    other = PatientFactory(centre=centre)
    with assert_queries(1):
        assert views.course_and_cycles(other) == (None, [])


# --- the lists ----------------------------------------------------------------------------------


def test_the_lists_are_the_orms_in_the_pages_order(navigator, specialist, oncologist, course,
                                                   centre, time_machine):
    time_machine.move_to(NOW, tick=False)
    patient = course.patient
    specialist.first_name = specialist.last_name = ""
    specialist.save()
    owned = add_task(course, sequence=2, owner_user=navigator,
                     appointment_at=NOW + dt.timedelta(days=3), appointment_place="Radiology")
    add_task(course, kind=TaskKind.IMAGING, sequence=1, due=TODAY - dt.timedelta(days=1))
    add_task(course, sequence=3, state=TaskState.DONE, done_at=NOW)  # not open: not listed
    for hours, task, user in ((1, owned, navigator), (5, None, specialist), (3, None, oncologist)):
        ContactLogEntry.objects.create(patient=patient, task=task, kind="call", party="patient",
                                       summary=f"{hours} hours ago",
                                       occurred_at=NOW - dt.timedelta(hours=hours),
                                       recorded_by=user)
    for days, user in ((2, navigator), (9, oncologist)):
        SSAInjection.objects.create(patient=patient, agent="lanreotide", dose_mg=Decimal("120"),
                                    given_at=NOW - dt.timedelta(days=days), recorded_by=user)
    ImagingStudy.objects.create(patient=patient, modality="ct", performed_on=TODAY,
                                entered_by=navigator)
    for days, user in ((3, specialist), (1, navigator), (3, oncologist)):
        LabResult.objects.create(patient=patient, analyte="creatinine", value=Decimal("80.5"),
                                 unit="umol/L", collected_at=NOW - dt.timedelta(days=days),
                                 entered_by=user)
    LabResult.objects.filter(pk=LabResult.objects.latest("pk").pk).update(
        entered_in_error=True, error_reason="Haemolysed", marked_in_error_by=specialist,
        marked_in_error_at=NOW)
    for days, user in ((4, specialist), (2, navigator), (4, oncologist)):
        PerformanceStatus.objects.create(patient=patient, scale="ecog", value=1, entered_by=user,
                                         assessed_on=TODAY - dt.timedelta(days=days))
        AdverseEvent.objects.create(patient=patient, term=f"Nausea {days}", ctcae_grade=1,
                                    category="other", onset_on=TODAY - dt.timedelta(days=days),
                                    reported_by=user)
    ReferralFactory(patient=patient)

    known: dict = {}
    with assert_queries(6):
        tasks = views.course_tasks(patient, course, known)
        contacts = views.contacts(patient, known, limit=101)
        injections = views.injections(patient, known, limit=101)
        imaging = selectors.imaging_for(patient)
        labs = selectors.lab_results_for(patient, limit=200, known=known)
        short = views.short_lists(patient, known)

    expected = {
        "tasks": (tasks, CareTask.objects.filter(course=course, state=TaskState.OPEN)
                  .order_by("due", "kind", "cycle", "sequence", "id"), ("owner_user",)),
        "contacts": (contacts, patient.contacts.all(), ("task", "recorded_by")),
        "injections": (injections, patient.ssa_injections.all(), ("recorded_by",)),
        "imaging": (imaging, patient.imaging.all(), ()),
        "labs": (labs, patient.labs.order_by("-collected_at", "-id"),
                 ("entered_by", "marked_in_error_by")),
        "performance": (short["performance"], patient.performance_status.all(),
                        ("entered_by",)),
        "adverse_events": (short["adverse_events"], patient.adverse_events.all(),
                           ("reported_by",)),
        "referrals": (short["referrals"], patient.referrals.all(), ("centre",)),
    }
    orm_rows = {name: list(queryset.select_related(*named))
                for name, (_, queryset, named) in expected.items()}
    for name, (rows, _, named) in expected.items():
        orm = orm_rows[name]
        assert [row.pk for row in rows] == [row.pk for row in orm], name
        assert rows, name
        with assert_queries(0):
            for row, other in zip(rows, orm, strict=True):
                same_values(row, other)
                for relation in named:
                    assert str(getattr(row, relation)) == str(getattr(other, relation)), name
    with assert_queries(0):
        assert [task.title for task in tasks] == [task.title for task in orm_rows["tasks"]]
        assert owned.pk in [task.pk for task in tasks]
        assert contacts[0].task.title == owned.title and contacts[1].task is None
        # One person, one instance, whichever list names them.
        assert labs[0].entered_by is short["performance"][0].entered_by
        assert str(short["performance"][-1].entered_by) == specialist.username


# --- what the page writes ---------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Asia/Kolkata"])
def test_days_and_times_are_written_as_the_date_filter_wrote_them(zone):
    template = engines["django"].from_string(
        "{% load tz %}{% timezone zone %}{{ value|date:format_string }}{% endtimezone %}")
    texts = patient_views._Texts(zoneinfo.ZoneInfo(zone))
    moments = [dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC),  # London moves to summer time
               dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
               dt.datetime(2026, 11, 1, 5, 59, tzinfo=dt.UTC),  # New York moves back
               dt.datetime(2026, 12, 31, 23, 15, tzinfo=dt.UTC)]
    days = [dt.date(2026, 1, 5), dt.date(2028, 2, 29)]
    times, dates = ("D j M Y H:i", "j M Y H:i", "H:i"), ("j M Y", "D j M Y", "j M")
    for value in moments + days:
        for format_string in (times + dates if value in moments else dates):
            expected = template.render({"zone": zone, "value": value,
                                        "format_string": format_string})
            assert texts(value, format_string) == expected, (value, format_string)
            assert texts(value, format_string) == expected  # and again, remembered
    assert texts(None, "j M Y") == ""
    # A time asked for in another zone (the cycles table's) is written in that zone, never as
    # the centre's, remembered.
    texts(moments[3], "H:i")
    assert texts(moments[3], "H:i", zone=dt.UTC) == "23:15"


def test_the_page_reads_as_few_tables_for_any_record(rf_user_page, navigator, centre,
                                                     oncologist, course):
    """The view's queries (the centre's reference ranges in the cache): a patient without a
    course (no tasks, no decisions), a course without cycles (no decisions), and a recorded
    pregnancy (its recorder joined to the record)."""
    without = PatientFactory(centre=centre, referring_oncologist=oncologist)
    rf_user_page(without)
    with assert_queries(8):  # record, audit, labs, course, contacts, injections, imaging, lists
        page = rf_user_page(without)
    assert "No labs recorded." in page and 'id="h-course"' not in page

    second = PatientFactory(centre=centre, referring_oncologist=oncologist)
    TreatmentCourse.objects.create(patient=second, centre=centre, planned_first_dose=TODAY,
                                   referral=ReferralFactory(patient=second))
    with assert_queries(9):  # and the course's open tasks
        page = rf_user_page(second)
    assert 'id="h-course"' in page and "No infusion given yet." in page

    Patient.objects.filter(pk=course.patient.pk).update(
        sex="F", pregnancy="excluded", pregnancy_tested_on=TODAY, pregnancy_recorded_at=NOW,
        pregnancy_recorded_by=navigator)
    with assert_queries(10):  # and the cycles' decisions
        page = rf_user_page(course.patient)
    assert f"recorded by {navigator} on" in page


@pytest.fixture
def rf_user_page(navigator):
    """The patient page as the navigator gets it, from the view itself."""

    def load(patient) -> str:
        request = RequestFactory().get(reverse("patients:detail", args=[patient.external_id]))
        request.user = navigator
        response = patient_views.patient_detail(request, external_id=patient.external_id)
        assert response.status_code == 200
        return response.content.decode()

    return load


def test_the_journey_writes_its_marks_as_the_template_did(client, navigator, course,
                                                          time_machine):
    """A dose's precaution window, the dose, the cycles planned and one overdue."""
    cycle = course.cycles.get(number=1)
    Administration.objects.create(
        cycle=cycle, administered_at=dt.datetime(2025, 1, 6, 10, tzinfo=dt.UTC),
        activity_gbq=Decimal("7.4"), no_short_acting_ssa_24h=True, recorded_by=navigator)
    time_machine.move_to(dt.datetime(2025, 3, 10, 9, tzinfo=dt.UTC), tick=False)
    client.force_login(navigator)
    page = client.get(reverse("patients:detail", args=[course.patient.external_id])
                      ).content.decode()
    assert "<title>Precautions 6 Jan–13 Jan 2025</title>" in page
    assert "<title>C1 6 Jan 2025</title>" in page
    assert "<title>C2 3 Mar 2025 (overdue)</title>" in page
    assert 'class="j-label">C2 overdue</text>' in page
    assert "<title>C3 28 Apr 2025 (planned)</title>" in page
    assert "today is 10 Mar 2025." in page and "Today is 10 Mar 2025.</figcaption>" in page

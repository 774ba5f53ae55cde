"""The caseload's read model (coordinators/caseload_model.py) says what the open tasks and
cycles themselves say, after every kind of write (a service, a queryset update, a bulk create,
raw SQL, a deletion, a patient moving centre) and on every day, without anyone refreshing it;
and the triggers that keep it true exist on both databases."""

import datetime as dt

import pytest
from django.db import connection

from coordinators import caseload_model, services
from coordinators.caseload import Filters, caseload_for, live_ranking
from coordinators.caseload_sql import Read
from coordinators.models import CareTask, CaseloadEntry, CaseloadStale, OwnerParty, TaskKind
from patients.models import Patient
from prrt.models import Cycle, TreatmentCourse
from tests.coordinators.test_caseload import TODAY, make_patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def agree(user, today=TODAY) -> dict[str, int]:
    """The page's caseload (read model, refreshed first) equals the one computed live from the
    tasks and cycles: counts, and every patient in order. Returns the counts."""
    shown = caseload_for(user, today=today, show=1000)
    counts, ranked = live_ranking(Read(user, today=today, filters=Filters()), offset=0, show=1000)
    assert shown.counts == counts
    assert [group.patient.pk for group in shown.groups] == [row[0] for row in ranked]
    assert [group.patient.family_name for group in shown.groups] == [row[2] for row in ranked]
    return counts


@pytest.fixture
def ward(centre, oncologist):
    return {
        "overdue": make_patient(centre, oncologist, family="Ames", tasks=[
            (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=2), OwnerParty.CENTRE)]),
        "today": make_patient(centre, oncologist, family="Bell", tasks=[
            (TaskKind.PRE_DOSE_LABS, TODAY, OwnerParty.PRACTICE)]),
        "blocked": make_patient(centre, oncologist, family="Cole", blocked=True, tasks=[
            (TaskKind.IMAGING, TODAY + dt.timedelta(days=20), OwnerParty.CENTRE)]),
        "upcoming": make_patient(centre, oncologist, family="Dunn", tasks=[
            (TaskKind.PRE_DOSE_LABS, TODAY + dt.timedelta(days=5), OwnerParty.PRACTICE),
            (TaskKind.IMAGING, TODAY + dt.timedelta(days=40), OwnerParty.CENTRE)]),
        "nothing": make_patient(centre, oncologist, family="Eyre"),
    }


def test_every_kind_of_write_reaches_the_caseload(navigator, ward, other_centre, centre,
                                                  outside_navigator):
    assert agree(navigator) == {"overdue": 1, "today": 1, "upcoming": 1, "snoozed": 0,
                                "blocked": 1, "patients": 4}
    lar = CareTask.objects.get(patient=ward["overdue"])
    services.task_complete(actor=navigator, task=lar)  # a service
    assert agree(navigator)["overdue"] == 0
    CareTask.objects.filter(patient=ward["today"]).update(  # a queryset update
        snoozed_until=TODAY + dt.timedelta(days=3), reason="Away")
    assert agree(navigator)["snoozed"] == 1
    labs = CareTask.objects.get(patient=ward["upcoming"], kind=TaskKind.PRE_DOSE_LABS)
    CareTask.objects.bulk_create([CareTask(  # a bulk create, on the patient with nothing
        course=labs.course, patient=ward["nothing"], kind=TaskKind.LAR_INJECTION, cycle=1,
        sequence=9, owner_party=OwnerParty.CENTRE, earliest=TODAY, due=TODAY, latest=TODAY)])
    assert agree(navigator)["today"] == 1
    with connection.cursor() as cursor:  # raw SQL, moving a date
        cursor.execute("UPDATE coordinators_caretask SET earliest = %s, due = %s WHERE id = %s",
                       [TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=1), labs.pk])
    assert agree(navigator)["overdue"] == 1
    CareTask.objects.filter(pk=labs.pk).delete()  # a deletion
    assert agree(navigator)["overdue"] == 0
    Cycle.objects.filter(course__patient=ward["blocked"]).update(missing=[])  # a cycle
    assert agree(navigator)["blocked"] == 0
    TreatmentCourse.objects.filter(patient=ward["blocked"]).update(state="discontinued")
    Cycle.objects.filter(course__patient=ward["blocked"]).update(missing=["Labs."])
    assert agree(navigator)["blocked"] == 0  # a course no longer treated blocks nothing
    Patient.objects.filter(pk=ward["nothing"].pk).update(family_name="Aaron")  # a rename
    assert agree(navigator)["patients"] == 2
    assert caseload_for(navigator, today=TODAY).groups[0].patient.family_name == "Aaron"
    Patient.objects.filter(pk=ward["nothing"].pk).update(centre=other_centre)  # a move
    assert agree(navigator)["patients"] == 1
    assert agree(outside_navigator)["patients"] == 1
    Patient.objects.filter(pk=ward["nothing"].pk).update(centre=centre)  # and back
    assert agree(outside_navigator)["patients"] == 0
    assert agree(navigator)["patients"] == 2


def test_the_caseload_follows_the_days_with_no_write(navigator, ward):
    """A task falls overdue, a snooze ends, an upcoming one comes into the next 7 days: each
    day's caseload is computed for that day."""
    CareTask.objects.filter(patient=ward["today"]).update(
        snoozed_until=TODAY + dt.timedelta(days=2), reason="Travelling")
    for days in range(0, 45, 1):
        agree(navigator, TODAY + dt.timedelta(days=days))
    agree(navigator, TODAY - dt.timedelta(days=10))  # and back


def test_a_deleted_patient_leaves_no_mark_behind(navigator, ward, centre, oncologist):
    """A patient registered by mistake and deleted (possible before any referral or course)."""
    agree(navigator)
    gone = PatientFactory(centre=centre, referring_oncologist=oncologist).pk
    Patient.objects.filter(pk=gone).delete()
    assert CaseloadStale.objects.filter(patient_id=gone).exists()  # from its registration
    agree(navigator)
    agree(navigator, TODAY + dt.timedelta(days=1))  # the next day's rebuild clears the mark
    assert not CaseloadStale.objects.filter(patient_id=gone).exists()


def test_refreshing_consumes_the_marks_and_a_quiet_page_writes_nothing(navigator, ward):
    agree(navigator)
    assert not CaseloadStale.objects.filter(
        patient_id__in=[patient.pk for patient in ward.values()]).exists()
    entries = CaseloadEntry.objects.count()
    assert entries == 4
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        caseload_for(navigator, today=TODAY)
    writes = [query["sql"] for query in captured.captured_queries
              if query["sql"].startswith(("INSERT", "UPDATE"))]
    assert writes == []


@pytest.mark.parametrize("table", ["coordinators_caretask", "prrt_cycle",
                                   "prrt_treatmentcourse", "patients_patient"])
def test_the_triggers_exist(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                       "AND NOT tgisinternal", [table])
        assert ("coordinators_caseload_stale",) in cursor.fetchall()


def test_only_the_centre_scope_reads_the_model(oncologist, ward, navigator):
    """An oncologist's scope is not a centre: nothing of theirs is read from the entries."""
    caseload_model.CaseloadDay.objects.all().delete()
    caseload_for(oncologist, today=TODAY)
    assert not caseload_model.CaseloadDay.objects.exists()
    caseload_for(navigator, today=TODAY)
    assert caseload_model.CaseloadDay.objects.get().as_of == TODAY


@pytest.mark.django_db(transaction=True)
def test_a_refresh_never_waits_for_a_writer_and_takes_its_change_after_its_commit(
        navigator, centre, oncologist):
    """A writer's open transaction holds its patient's mark: the caseload does not wait for it
    (it shows what was committed before), and the next page after the commit shows the change."""
    import threading
    import time

    from django.db import connections, transaction

    patient = make_patient(centre, oncologist, family="Ford", tasks=[
        (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=2), OwnerParty.CENTRE)])
    assert agree(navigator)["overdue"] == 1
    Patient.objects.filter(pk=patient.pk).update(given_name="Frances")  # a mark, committed
    holding, release = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                CareTask.objects.filter(patient=patient).update(
                    snoozed_until=TODAY + dt.timedelta(days=5), reason="Away")
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        during = caseload_for(navigator, today=TODAY)
        assert time.monotonic() - started < 2  # not waiting for the writer
        assert during.counts["overdue"] == 1  # its change is not committed yet
        assert CaseloadStale.objects.filter(patient_id=patient.pk).exists()  # left for later
    finally:
        release.set()
        thread.join(10)
    after = agree(navigator)
    assert after["overdue"] == 0 and after["snoozed"] == 1
    assert caseload_for(navigator, today=TODAY).groups[0].patient.given_name == "Frances"
    assert not CaseloadStale.objects.filter(patient_id=patient.pk).exists()

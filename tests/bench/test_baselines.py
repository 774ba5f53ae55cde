"""The benchmarks' baselines are fair: the bare SQL of bench/_baselines.py fetches the rows the
page shows (the same ids, in the same order) and writes the same audit rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from bench import _baselines
from coordinators.caseload import PAGE_PATIENTS
from coordinators.models import CareTask, OwnerParty, TaskKind
from netcare.models import AuditEvent
from patients.models import AdverseEvent
from tests.coordinators.test_caseload import TODAY, make_patient
from tests.coordinators.test_patient_page import (
    LATER,
    add_contact,
    add_injection,
    add_task,
    administer,
    detail,
)

pytestmark = pytest.mark.django_db


def test_the_caseload_baseline_fetches_what_the_page_shows(client, navigator, centre,
                                                           oncologist, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))
    for i in range(PAGE_PATIENTS + 6):
        due = TODAY + dt.timedelta(days=(-2, 0, 4, 1, -1)[i % 5])
        patient = make_patient(centre, oncologist, family=f"B{i % 7}", blocked=i % 6 == 0,
                               tasks=[(TaskKind.LAR_INJECTION, due, OwnerParty.CENTRE),
                                      (TaskKind.REBOOK_CYCLE, TODAY, OwnerParty.CENTRE)]
                               if i % 9 else [])
        if i % 4 == 1:
            CareTask.objects.filter(patient=patient, kind=TaskKind.LAR_INJECTION).update(
                snoozed_until=TODAY + dt.timedelta(days=3), reason="Away")
        if i % 10 == 3:
            AdverseEvent.objects.create(patient=patient, term="Nausea", category="other",
                                        ctcae_grade=3, onset_on=TODAY, reported_by=oncologist)
    client.force_login(navigator)
    before = AuditEvent.objects.count()
    page = client.get(reverse("navigator-home")).context["caseload"]
    assert AuditEvent.objects.count() == before + 1
    with connection.cursor() as cursor:
        bare = _baselines.caseload(cursor, centre_id=centre.pk, actor_id=navigator.pk,
                                   today=TODAY)
    assert AuditEvent.objects.count() == before + 2  # the same audit row
    counts = page.counts
    assert bare["counts"] == [counts["overdue"], counts["today"], counts["upcoming"],
                              counts["snoozed"], counts["blocked"], counts["patients"]]
    assert bare["patients"] == [group.patient.pk for group in page.groups]
    assert len(bare["patients"]) == PAGE_PATIENTS
    shown = [task.pk for group in page.groups
             for task in group.overdue + group.today + group.upcoming + group.snoozed]
    assert sorted(bare["tasks"]) == sorted(shown) and shown
    assert sorted(bare["cycles"]) == sorted(cycle.pk for group in page.groups
                                            for cycle, _ in group.blocked)
    assert len(bare["adverse_events"]) == len(page.adverse_events) > 0
    with connection.cursor() as cursor:  # the page's read model gives the same page
        from_entries = _baselines.caseload_from_entries(
            cursor, centre_id=centre.pk, actor_id=navigator.pk, today=TODAY)
    assert from_entries == bare


def test_the_patient_page_baseline_fetches_what_the_page_shows(client, navigator, course,
                                                               time_machine):
    time_machine.move_to(LATER, tick=False)
    patient = course.patient
    for i, cycle in enumerate(course.cycles.order_by("number")[:2], 1):
        administer(cycle, navigator)
        add_task(course, sequence=i, due=LATER.date() + dt.timedelta(days=i))
        add_contact(patient, navigator, hours_ago=i)
        add_injection(patient, navigator, days_ago=i)
    client.force_login(navigator)
    context = client.get(detail(patient)).context
    before = AuditEvent.objects.count()
    with connection.cursor() as cursor:
        bare = _baselines.patient_page(cursor, patient_id=patient.pk, actor_id=navigator.pk)
    assert AuditEvent.objects.count() == before + 1
    assert bare["labs"] == [lab.pk for lab in context["lab_results"]]
    assert bare["cycles"] == [cycle.pk for cycle in context["cycles"]]
    assert bare["tasks"] == [task.pk for task in context["course_tasks"]]
    assert bare["contacts"][:len(context["contacts"])] == [e.pk for e in context["contacts"]]
    assert bare["injections"][:len(context["ssa_injections"])] == [
        i.pk for i in context["ssa_injections"]]
    assert bare["imaging"] == [study.pk for study in context["imaging"]]
    assert len(bare["tasks"]) == 2 and len(bare["contacts"]) == 2

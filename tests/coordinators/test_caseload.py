"""The navigator's caseload: buckets and counts, blocked cycles, filters, in-place actions,
access and a constant number of queries; snoozed tasks in their own group until they wake, the
rebooking and referral-back tasks with their one-click links, appointments, and only open
tasks."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.urls import reverse

from coordinators import services
from coordinators.caseload import PAGE_PATIENTS
from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from coordinators.plan import plan_sync
from netcare.models import AuditEvent
from prrt import services as prrt_services
from prrt.bookings import cycle_book
from prrt.models import Cycle, CycleState, TreatmentCourse
from referrals.models import ReferralState
from tests.coordinators.conftest import C1
from tests.factories import PatientFactory, ReferralFactory
from tests.prrt.builders import enter_labs, give
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))


def make_patient(centre, oncologist, *, family="Case", tasks=(), blocked=False):
    """A patient in treatment with the given (kind, due, owner) open tasks."""
    patient = PatientFactory(centre=centre, referring_oncologist=oncologist, family_name=family)
    referral = ReferralFactory(patient=patient, state=ReferralState.IN_TREATMENT)
    course = TreatmentCourse.objects.create(patient=patient, referral=referral, centre=centre,
                                            planned_first_dose=TODAY - dt.timedelta(days=60),
                                            state="active")
    Cycle.objects.create(course=course, number=2, due_date=TODAY + dt.timedelta(days=5),
                         planned_date=TODAY + dt.timedelta(days=5),
                         missing=["Pre-dose labs within 14 days: Platelets."] if blocked else [],
                         state=CycleState.PLANNED)
    for index, (kind, due, owner) in enumerate(tasks):
        CareTask.objects.create(course=course, patient=patient, kind=kind, cycle=2,
                                sequence=index + 1, owner_party=owner, earliest=due, due=due,
                                latest=due + dt.timedelta(days=1))
    return patient


@pytest.fixture
def caseload(centre, oncologist):
    lar = make_patient(centre, oncologist, family="Larsen", tasks=[
        (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=2), OwnerParty.CENTRE),
        (TaskKind.RADIATION_SAFETY_CHECKIN, TODAY, OwnerParty.CENTRE)])
    labs = make_patient(centre, oncologist, family="Labbe", blocked=True, tasks=[
        (TaskKind.PRE_DOSE_LABS, TODAY + dt.timedelta(days=3), OwnerParty.PRACTICE),
        (TaskKind.IMAGING, TODAY + dt.timedelta(days=30), OwnerParty.CENTRE)])
    return {"lar": lar, "labs": labs}


def get(client, **params):
    return client.get(reverse("navigator-home"), params)


def search(client, **params):
    """Filters as the page sends them: in a POST body, so a name never reaches a URL."""
    return client.post(reverse("caseload:caseload"), params)


def test_buckets_counts_and_blocked(client, navigator, caseload):
    client.force_login(navigator)
    response = get(client)
    data = response.context["caseload"]
    assert data.counts == {"overdue": 1, "today": 1, "upcoming": 1, "snoozed": 0, "blocked": 1,
                           "patients": 2}
    assert [g.patient.family_name for g in data.groups] == ["Larsen", "Labbe"]
    page = response.content.decode()
    assert 'id="count-overdue">1<' in page
    assert "Overdue" in page and "Octreotide LAR injection (cycle 2)" in page
    assert "Pre-dose labs within 14 days: Platelets." in page
    assert 'data-kind="imaging"' not in page  # due in 30 days: not on today's page


def test_names_and_searches_are_text_never_markup(client, navigator, centre, oncologist):
    """The patient groups (rendered in Jinja2) escape what people typed, and a search for the
    characters SQL's LIKE treats as wildcards finds them literally."""
    make_patient(centre, oncologist, family="<b>O'Brien_100%</b>", tasks=[
        (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=1), OwnerParty.CENTRE)])
    make_patient(centre, oncologist, family="Obrienx1000", tasks=[
        (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=1), OwnerParty.CENTRE)])
    client.force_login(navigator)
    page = get(client).content.decode()
    assert "<b>O'Brien" not in page
    assert "&lt;b&gt;O&#39;Brien_100%&lt;/b&gt;" in page
    for typed in ("_100%", "n_1", "100%<"):
        found = search(client, q=typed).context["caseload"]
        assert [g.patient.family_name for g in found.groups] == ["<b>O'Brien_100%</b>"], typed


def test_filters(client, navigator, caseload):
    client.force_login(navigator)
    assert get(client, owner="practice").context["caseload"].counts["upcoming"] == 1
    assert get(client, owner="practice").context["caseload"].counts["overdue"] == 0
    assert get(client, kind=TaskKind.LAR_INJECTION).context["caseload"].counts["overdue"] == 1
    assert get(client, kind=TaskKind.LAR_INJECTION).context["caseload"].counts["today"] == 0
    by_name = search(client, q="labb").context["caseload"]
    assert [g.patient.family_name for g in by_name.groups] == ["Labbe"]
    by_mrn = search(client, q=caseload["lar"].mrn, owner="").context["caseload"]
    assert [g.patient.family_name for g in by_mrn.groups] == ["Larsen"]
    assert get(client, stage="completed").context["caseload"].counts["patients"] == 0
    assert get(client, owner="nonsense").context["caseload"].filters.owner == ""
    assert search(client, kind=TaskKind.LAR_INJECTION).context["caseload"].counts["overdue"] == 1


def test_a_search_in_a_url_is_ignored_and_the_page_searches_by_post(client, navigator, caseload):
    """Names typed into the search stay out of URLs and so out of access logs."""
    client.force_login(navigator)
    everyone = get(client).context["caseload"].counts["patients"]
    assert everyone > 1
    from_url = get(client, q="labb").context["caseload"]
    assert from_url.filters.q == "" and from_url.counts["patients"] == everyone
    page = get(client).content.decode()
    form = page[page.index('<form id="filters"'):].split(">", 1)[0]
    assert 'method="post"' in form and 'hx-post="/caseload/"' in form
    assert 'hx-get="/caseload/"' not in page
    searched = search(client, q="labb")
    assert searched.status_code == 200 and searched.context["caseload"].counts["patients"] == 1


def test_mark_done_in_place_with_the_injection_time(client, navigator, caseload):
    client.force_login(navigator)
    task = CareTask.objects.get(kind=TaskKind.LAR_INJECTION)
    url = reverse("caseload:task-action", args=[task.external_id, "done"])
    response = client.post(url, {"done_at": "2026-11-22T08:15", "value": "Left gluteal"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.context["caseload"].counts["overdue"] == 0
    assert 'id="caseload"' in response.content.decode()
    assert "<html" not in response.content.decode()
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.done_by == navigator
    assert task.done_at.isoformat() == "2026-11-22T08:15:00+00:00"
    assert task.value == "Left gluteal"
    assert AuditEvent.objects.filter(action="transition", object_id=str(task.external_id)).exists()


def test_skip_without_reason_is_an_error_and_changes_nothing(client, navigator, caseload):
    client.force_login(navigator)
    task = CareTask.objects.get(kind=TaskKind.LAR_INJECTION)
    response = client.post(reverse("caseload:task-action", args=[task.external_id, "skip"]),
                           {"reason": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "A reason is required" in response.content.decode()
    task.refresh_from_db()
    assert task.state == TaskState.OPEN


def test_snooze_hides_the_task_until_the_day(client, navigator, caseload):
    client.force_login(navigator)
    task = CareTask.objects.get(kind=TaskKind.LAR_INJECTION)
    response = client.post(reverse("caseload:task-action", args=[task.external_id, "snooze"]),
                           {"until": "2026-11-25", "reason": "Patient travelling"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.context["caseload"].counts["overdue"] == 0
    assert response.context["caseload"].counts["snoozed"] == 1
    task.refresh_from_db()
    assert task.snoozed_until == dt.date(2026, 11, 25)
    page = response.content.decode()
    assert 'aria-label="Snoozed"' in page
    assert "Wakes Wed 25 Nov 2026: Patient travelling" in page


def test_reassign_to_a_colleague(client, navigator, specialist, caseload):
    client.force_login(navigator)
    task = CareTask.objects.get(kind=TaskKind.PRE_DOSE_LABS)
    client.post(reverse("caseload:task-action", args=[task.external_id, "reassign"]),
                {"owner": str(specialist.external_id)}, HTTP_HX_REQUEST="true")
    task.refresh_from_db()
    assert (task.owner_party, task.owner_user) == (OwnerParty.USER, specialist)
    assert get(client, owner="me").context["caseload"].counts["upcoming"] == 0


def test_outsiders_see_nothing_and_cannot_act(client, outside_navigator, oncologist, caseload):
    client.force_login(outside_navigator)
    assert get(client).context["caseload"].counts["patients"] == 0
    task = CareTask.objects.get(kind=TaskKind.LAR_INJECTION)
    response = client.post(reverse("caseload:task-action", args=[task.external_id, "done"]), {})
    assert response.status_code == 404
    client.force_login(oncologist)
    assert get(client).status_code == 403
    task.refresh_from_db()
    assert task.state == TaskState.OPEN


def test_constant_queries_for_5_and_200_patients(client, navigator, centre, oncologist):
    def add(n):
        for i in range(n):
            make_patient(centre, oncologist, family=f"Q{i}", blocked=i % 3 == 0, tasks=[
                (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=1), OwnerParty.CENTRE),
                (TaskKind.PRE_DOSE_LABS, TODAY + dt.timedelta(days=2), OwnerParty.PRACTICE)])

    def load():
        response = get(client)
        assert response.status_code == 200
        return response

    def grow():
        add(195)
        load()  # the read model catches up with the 195 new patients (one group of stale ones)

    client.force_login(navigator)
    add(5)
    load()  # the day's entries computed
    response = assert_constant_queries(load, grow=grow)
    assert response.context["caseload"].counts["patients"] == 200


# --- the one plan on the caseload: snoozed, rebooking, referral back, appointments ------------
# Built through the real services: the plan sync, the decisions, the booking, the task verbs.

D = dt.date
LONDON = zoneinfo.ZoneInfo("Europe/London")


def move(time_machine, day: dt.date, hour: int = 9) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(hour), tzinfo=LONDON), tick=False)


def page_of(client, user):
    client.force_login(user)  # the session may have expired as time moved on
    response = get(client)
    assert response.status_code == 200
    return response.context["caseload"], response.content.decode()


def item(page: str, task: CareTask) -> str:
    """The task's entry on the page."""
    start = page.index(f'id="task-{task.external_id}"')
    return page[start:page.index("</li>", start)]


def ids(tasks) -> set[int]:
    """The ids of a bucket's tasks (the caseload reads values, not model instances)."""
    return {task.pk for task in tasks}


def group_of(caseload, patient):
    [group] = [g for g in caseload.groups if g.patient.pk == patient.pk]
    return group


def give_cycle_1(course, specialist, navigator, time_machine, callbacks) -> None:
    with callbacks(execute=True):
        plan_sync(course=course, today=D(2024, 12, 17))
    move(time_machine, C1 - dt.timedelta(days=2))
    with callbacks(execute=True):
        enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=1),
                                     today=C1 - dt.timedelta(days=2))
    with callbacks(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                                   activity_gbq=Decimal("7.4"), today=C1 - dt.timedelta(days=1))
    move(time_machine, C1, 17)
    with callbacks(execute=True):
        give(navigator, course.cycles.get(number=1), C1)


def test_snoozed_task_waits_in_its_own_group_until_it_wakes(
        client, navigator, course, time_machine, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        plan_sync(course=course, today=D(2024, 12, 17))
    labs = CareTask.objects.get(course=course, kind=TaskKind.PRE_DOSE_LABS, cycle=1)
    move(time_machine, labs.due + dt.timedelta(days=1))
    before, page = page_of(client, navigator)
    assert labs.pk in ids(group_of(before, course.patient).overdue)
    assert 'class="badge badge-bad">Overdue' in item(page, labs)

    wakes = labs.due + dt.timedelta(days=4)
    with django_capture_on_commit_callbacks(execute=True):
        services.task_snooze(actor=navigator, task=labs, until=wakes,
                             reason="Patient abroad: labs at the practice on return.")
    snoozed, page = page_of(client, navigator)
    group = group_of(snoozed, course.patient)
    assert labs.pk in ids(group.snoozed)
    assert labs.pk not in ids(group.overdue + group.today + group.upcoming)
    assert snoozed.counts["overdue"] == before.counts["overdue"] - 1
    assert snoozed.counts["snoozed"] == 1
    entry = item(page, labs)
    assert f'<span class="badge">Snoozed to {wakes:%a %-d %b}</span>' in entry
    assert f"Wakes {wakes:%a %-d %b %Y}: Patient abroad: labs at the practice on return." in entry
    assert '<ul class="tasks tasks-snoozed" aria-label="Snoozed">' in page

    # Still snoozed the day before it wakes; overdue again on the day it wakes.
    move(time_machine, wakes - dt.timedelta(days=1))
    assert labs.pk in ids(group_of(page_of(client, navigator)[0], course.patient).snoozed)
    move(time_machine, wakes)
    woken, page = page_of(client, navigator)
    assert labs.pk in ids(group_of(woken, course.patient).overdue)
    assert woken.counts["snoozed"] == 0
    assert 'class="badge badge-bad">Overdue' in item(page, labs)


def test_rebook_task_links_to_its_cycle_and_leaves_once_booked(
        client, navigator, specialist, course, time_machine,
        django_capture_on_commit_callbacks):
    give_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    move(time_machine, D(2025, 3, 3))
    with django_capture_on_commit_callbacks(execute=True):
        enter_labs(specialist, course.patient, D(2025, 2, 27), platelets=("60", "10^9/L"))
    c2 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=2), today=D(2025, 3, 3))
    with django_capture_on_commit_callbacks(execute=True):
        prrt_services.cycle_decide(actor=specialist, cycle=c2, decision="withhold",
                                   categories=["thrombocytopenia"], today=D(2025, 3, 3),
                                   reason="Platelets 60.")
    rebook = CareTask.objects.get(course=course, kind=TaskKind.REBOOK_CYCLE, cycle=2)
    move(time_machine, rebook.due)
    caseload, page = page_of(client, navigator)
    assert rebook.pk in ids(group_of(caseload, course.patient).today)
    url = reverse("prrt:cycle", args=[c2.external_id])
    entry = item(page, rebook)
    assert "Rebook the withheld infusion (cycle 2)" in entry
    assert f'<a class="button task-link" href="{url}">Rebook cycle 2<' in entry
    assert client.get(url).status_code == 200

    # The booking closes the task (NETcare, from the record): it is no longer open here.
    with django_capture_on_commit_callbacks(execute=True):
        cycle_book(actor=navigator, cycle=Cycle.objects.get(pk=c2.pk),
                   booked_date=D(2025, 3, 24), reason="After the recheck.")
    rebook.refresh_from_db()
    assert rebook.state == TaskState.DONE and rebook.done_by is None
    assert f'id="task-{rebook.external_id}"' not in page_of(client, navigator)[1]


def test_refer_back_task_links_to_the_course_letter(
        client, navigator, specialist, course, time_machine,
        django_capture_on_commit_callbacks):
    give_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    move(time_machine, D(2025, 2, 20))
    with django_capture_on_commit_callbacks(execute=True):
        prrt_services.course_discontinue(actor=specialist, course=course,
                                         reason="Patient's choice.")
    refer_back = CareTask.objects.get(course=course, kind=TaskKind.REFERRAL_FOLLOW_UP)
    assert refer_back.state == TaskState.OPEN and refer_back.due < D(2025, 2, 20)
    caseload, page = page_of(client, navigator)
    assert refer_back.pk in ids(group_of(caseload, course.patient).overdue)
    url = f"/letters/{course.external_id}/"
    assert reverse("letters:letter", args=[course.external_id]) == url
    entry = item(page, refer_back)
    assert "Refer back with the course letter" in entry
    assert f'<a class="button task-link" href="{url}">Open the course letter<' in entry
    assert client.get(url).status_code == 200


def test_a_tasks_appointment_is_shown_in_the_centres_time(
        client, navigator, course, time_machine, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        plan_sync(course=course, today=D(2024, 12, 17))
    labs = CareTask.objects.get(course=course, kind=TaskKind.PRE_DOSE_LABS, cycle=1)
    move(time_machine, labs.due, hour=7)  # the draw is at 08:30 today
    at = dt.datetime.combine(labs.due, dt.time(9, 30), tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    with django_capture_on_commit_callbacks(execute=True):
        services.task_set_appointment(actor=navigator, task=labs, at=at,
                                      place="Hillview phlebotomy", note="Fasting")
    caseload, page = page_of(client, navigator)
    assert labs.pk in ids(group_of(caseload, course.patient).today)
    local = at.astimezone(LONDON)
    assert (f'Appointment <time datetime="{local.isoformat()}">{local:%a %-d %b %Y} 08:30</time>'
            ", Hillview phlebotomy" in item(page, labs))
    # A task without an appointment says nothing of one.
    group = group_of(caseload, course.patient)
    others = [t for t in group.overdue + group.today + group.upcoming if t.pk != labs.pk]
    assert others and all("Appointment" not in item(page, t) for t in others)


def test_tasks_netcare_closed_are_not_open(client, navigator, specialist, course,
                                           time_machine, django_capture_on_commit_callbacks):
    give_cycle_1(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks)
    closed = CareTask.objects.filter(course=course, state=TaskState.DONE, done_by__isnull=True)
    assert closed.filter(kind=TaskKind.INFUSION, cycle=1).exists()
    caseload, page = page_of(client, navigator)
    shown = {t.pk for g in caseload.groups for t in g.overdue + g.today + g.upcoming + g.snoozed}
    assert shown and not shown & set(closed.values_list("pk", flat=True))
    for task in closed:
        assert f'id="task-{task.external_id}"' not in page


def test_constant_queries_with_snoozed_links_and_appointments(client, navigator, centre,
                                                               oncologist):
    def add(n):
        for i in range(n):
            patient = make_patient(centre, oncologist, family=f"S{i}", tasks=[
                (TaskKind.REBOOK_CYCLE, TODAY, OwnerParty.CENTRE),
                (TaskKind.REFERRAL_FOLLOW_UP, TODAY - dt.timedelta(days=2), OwnerParty.CENTRE),
                (TaskKind.PRE_DOSE_LABS, TODAY + dt.timedelta(days=2), OwnerParty.PRACTICE),
                (TaskKind.LAR_INJECTION, TODAY - dt.timedelta(days=1), OwnerParty.CENTRE)])
            CareTask.objects.filter(patient=patient, kind=TaskKind.PRE_DOSE_LABS).update(
                appointment_at=dt.datetime(2026, 11, 24, 8, 30, tzinfo=dt.UTC),
                appointment_place="Hillview phlebotomy")
            CareTask.objects.filter(patient=patient, kind=TaskKind.LAR_INJECTION).update(
                snoozed_until=TODAY + dt.timedelta(days=3), reason="Patient travelling")

    def load():
        return get(client)

    def grow():
        add(45)
        load()  # the read model catches up with the new patients

    client.force_login(navigator)
    add(5)
    load()  # the day's entries computed
    response = assert_constant_queries(load, grow=grow)
    caseload = response.context["caseload"]
    assert caseload.counts == {"overdue": 50, "today": 50, "upcoming": 50, "snoozed": 50,
                               "blocked": 0, "patients": 50}
    # The page lists the PAGE_PATIENTS most urgent; asked for 50, it lists them all.
    assert len(caseload.groups) == PAGE_PATIENTS
    response = search(client, show="50")
    assert len(response.context["caseload"].groups) == 50
    page = response.content.decode()
    assert page.count(">Rebook cycle 2<") == 50
    assert page.count(">Open the course letter<") == 50
    assert page.count("Hillview phlebotomy") == 50


def test_the_next_groups_come_on_demand_in_order(client, navigator, centre, oncologist):
    """The page reads the PAGE_PATIENTS most urgent groups only; "Show more" (htmx) fetches the
    next ones alone, in place of its paragraph, continuing the same order: overdue first, then
    blocked, then due today, then in the next days, snoozed only last; by name within."""
    for i in range(PAGE_PATIENTS + 5):
        due = TODAY + dt.timedelta(days=(-1, 0, 3, 0)[i % 4])
        patient = make_patient(centre, oncologist, family=f"M{i:02d}", blocked=i % 4 == 3,
                               tasks=[] if i % 4 == 3 else [
                                   (TaskKind.PRE_DOSE_LABS, due, OwnerParty.CENTRE)])
        if i % 8 == 2:
            CareTask.objects.filter(patient=patient).update(
                snoozed_until=TODAY + dt.timedelta(days=2), reason="Away")
    client.force_login(navigator)
    first = get(client)
    data = first.context["caseload"]
    assert data.counts["patients"] == PAGE_PATIENTS + 5
    assert len(data.groups) == PAGE_PATIENTS and data.hidden == 5
    page = first.content.decode()
    assert f'"after": "{PAGE_PATIENTS}"' in page and 'hx-target="closest .more"' in page
    more = client.post(reverse("caseload:caseload"), {"show": PAGE_PATIENTS * 2,
                                                      "after": PAGE_PATIENTS},
                       HTTP_HX_REQUEST="true")
    assert more.status_code == 200
    rest = more.context["caseload"].groups
    assert len(rest) == 5 and 'id="caseload"' not in more.content.decode()
    everyone = search(client, show=PAGE_PATIENTS * 2).context["caseload"].groups
    names = [g.patient.family_name for g in everyone]
    assert names == [g.patient.family_name for g in data.groups + rest]

    def rank(group):
        awake = group.overdue or group.today or group.upcoming
        return (not group.overdue, not group.blocked, not group.today, not group.upcoming,
                not awake and not group.blocked, group.patient.family_name)

    assert names == [g.patient.family_name for g in sorted(everyone, key=rank)]
    assert any(g.snoozed and not g.overdue + g.today + g.upcoming for g in everyone)

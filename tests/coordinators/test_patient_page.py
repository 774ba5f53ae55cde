"""The patient page's coordination sections: contact details, open care tasks, administrations,
the contact log and SSA injections with their entry forms, and a constant number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from coordinators.models import CareTask, ContactLogEntry, OwnerParty, TaskKind
from coordinators.patient_views import patient_detail
from prrt.models import Administration, SSAInjection
from tests.factories import PatientFactory
from tests.querycount import assert_constant_queries, assert_queries

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC)  # the course fixture's clock
TODAY = NOW.date()
# After the four doses of the course fixture (8 weeks apart from its first dose, 6 Jan 2025).
LATER = dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC)
DOSE_DAYS = [dt.date(2025, 1, 6), dt.date(2025, 3, 3), dt.date(2025, 4, 28),
             dt.date(2025, 6, 23)]


def detail(patient) -> str:
    return reverse("patients:detail", args=[patient.external_id])


def entry_form(patient, name: str) -> str:
    return reverse("patients:entry-form", args=[patient.external_id, name])


def add_task(course, *, kind=TaskKind.LAR_MAINTENANCE, sequence=1, due=TODAY, owner_user=None,
             **extra) -> CareTask:
    return CareTask.objects.create(
        course=course, patient=course.patient, kind=kind, sequence=sequence,
        owner_party=OwnerParty.USER if owner_user else OwnerParty.CENTRE, owner_user=owner_user,
        earliest=due - dt.timedelta(days=2), due=due, latest=due + dt.timedelta(days=2),
        **extra)


def add_contact(patient, user, *, task=None, summary="Called about the check-in.",
                hours_ago=1) -> ContactLogEntry:
    return ContactLogEntry.objects.create(
        patient=patient, task=task, kind="call", party="patient", summary=summary,
        occurred_at=NOW - dt.timedelta(hours=hours_ago), recorded_by=user)


def add_injection(patient, user, *, days_ago=3) -> SSAInjection:
    return SSAInjection.objects.create(
        patient=patient, agent="octreotide_lar", given_at=NOW - dt.timedelta(days=days_ago),
        dose_mg=Decimal("30"), given_by="Practice nurse", place="Hillview", recorded_by=user)


def administer(cycle, user, **extra) -> Administration:
    """The cycle's dose, given on its day at 10:00 UTC."""
    given = dt.datetime.combine(DOSE_DAYS[cycle.number - 1], dt.time(10, 0), tzinfo=dt.UTC)
    values = {"administered_at": given, "activity_gbq": Decimal("7.4"),
              "no_short_acting_ssa_24h": True, "recorded_by": user}
    return Administration.objects.create(cycle=cycle, **{**values, **extra})


# --- what the page shows --------------------------------------------------------------------


def test_the_page_shows_the_coordination_sections(client, navigator, course, time_machine):
    time_machine.move_to(LATER, tick=False)
    today = LATER.date()
    patient = course.patient
    patient.email, patient.phone = "ada@example.org", "+44 20 7946 0000"
    patient.reminder_consent = True
    patient.save()
    overdue = add_task(course, due=today - dt.timedelta(days=3))
    add_task(course, kind=TaskKind.IMAGING, due=today + dt.timedelta(days=10),
             owner_user=navigator,
             appointment_at=dt.datetime(2025, 7, 11, 13, 30, tzinfo=dt.UTC),
             appointment_place="Radiology, level 2")
    administer(course.cycles.get(number=1), navigator,
               lar_injected_at=dt.datetime(2025, 1, 6, 16, 0, tzinfo=dt.UTC),
               infusion_reaction_grade=2, reaction_is_hypersensitivity=True,
               precautions_given=True, warnings=["7.4 GBq given; 3.7 GBq was approved."],
               notes="Mild flushing.")
    add_contact(patient, navigator, task=overdue, summary="Left a voicemail.")
    add_injection(patient, navigator)

    client.force_login(navigator)
    response = client.get(detail(patient))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<title>Patient {patient.mrn} · NETcare</title>" in page
    for section in ('id="h-contact-details"', 'id="care-tasks"', 'id="h-administrations"',
                    'id="contacts"', 'id="ssa-injections"'):
        assert page.count(section) == 1, section
    # Contact details and consent.
    assert "ada@example.org" in page and "+44 20 7946 0000" in page
    assert "Consents to appointment and precaution reminders" in page
    # Open tasks: overdue said in words, the owner, the appointment in the centre's time.
    assert f'data-task="{overdue.external_id}" class="task-overdue"' in page
    assert "Octreotide LAR maintenance injection #1" in page and ">Overdue<" in page
    assert "CT or MRI #1" in page and str(navigator) in page
    assert "Fri 11 Jul 2025 14:30, Radiology, level 2" in page  # London summer time
    # The administration's details.
    assert "Infusion started</dt><dd>Mon 6 Jan 2025 10:00" in page
    assert "Octreotide LAR</dt><dd>Mon 6 Jan 2025 16:00" in page
    assert "Grade 2, hypersensitivity" in page and "Given in writing" in page
    assert "7.4 GBq given; 3.7 GBq was approved." in page and "Mild flushing." in page
    # The contact log and the injections.
    assert "Left a voicemail." in page and "Phone call" in page
    assert "Octreotide LAR (long-acting)" in page and "30 mg" in page
    # The forms, loaded when opened, with labels and the open tasks to log a contact against.
    for name in ("contact", "ssa"):
        assert f'hx-get="{entry_form(patient, name)}" hx-trigger="toggle once"' in page
    contact = client.get(entry_form(patient, "contact")).content.decode()
    assert 'action="' + reverse("patients:contact-add", args=[patient.external_id]) in contact
    assert f'<option value="{overdue.external_id}">' in contact
    assert '<label for="id_contact-occurred_at">When' in contact
    assert 'aria-describedby="id_contact-summary_helptext"' in contact
    assert 'id="id_contact-summary_helptext"' in contact
    ssa = client.get(entry_form(patient, "ssa")).content.decode()
    assert 'action="' + reverse("patients:ssa-injection-add", args=[patient.external_id]) in ssa
    assert "<html" not in ssa


def test_no_consent_and_no_tasks_are_said_plainly(client, specialist, patient):
    client.force_login(specialist)
    page = client.get(detail(patient)).content.decode()
    assert "No consent to reminders" in page
    assert "No contacts logged." in page and "No SSA injections recorded." in page


def test_the_oncologists_home_links_to_the_injection_form(client, oncologist, patient):
    client.force_login(oncologist)
    home = client.get(reverse("oncologist-home")).content.decode()
    link = f"{detail(patient)}?record=ssa#record-ssa"
    assert f'href="{link}"' in home
    page = client.get(link).content.decode()
    assert '<details id="record-ssa" open>' in page
    assert '<details id="record-ssa" hx-get=' in client.get(detail(patient)).content.decode()


# --- the contact log form -------------------------------------------------------------------


def contact_post(client, patient, **overrides):
    data = {"contact-kind": "call", "contact-party": "patient",
            "contact-occurred_at": "2024-12-17T08:30", "contact-summary": "No nausea.",
            "contact-task": ""}
    data.update({f"contact-{key}": value for key, value in overrides.items()})
    return client.post(reverse("patients:contact-add", args=[patient.external_id]), data)


def test_logging_a_contact_for_a_task(client, navigator, course):
    task = add_task(course, kind=TaskKind.RADIATION_SAFETY_CHECKIN)
    client.force_login(navigator)
    response = contact_post(client, course.patient, task=str(task.external_id))
    assert response.status_code == 302
    assert response["Location"] == f"{detail(course.patient)}#contacts"
    entry = ContactLogEntry.objects.get()
    assert (entry.task, entry.recorded_by, entry.summary) == (task, navigator, "No nausea.")
    assert entry.occurred_at == dt.datetime(2024, 12, 17, 8, 30, tzinfo=dt.UTC)
    page = client.get(response["Location"]).content.decode()
    assert "Contact logged." in page and "No nausea." in page


def test_the_time_is_read_in_the_centres_zone(client, navigator, course):
    centre = course.patient.centre
    centre.time_zone = "America/New_York"
    centre.save()
    client.force_login(navigator)
    assert contact_post(client, course.patient, occurred_at="2024-12-17T03:30").status_code == 302
    assert ContactLogEntry.objects.get().occurred_at == dt.datetime(2024, 12, 17, 8, 30,
                                                                    tzinfo=dt.UTC)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"occurred_at": "2024-12-17T12:00"}, "occurred_at",
     "The time of the contact is in the future."),
    ({"occurred_at": ""}, "occurred_at", "This field is required."),
    ({"summary": "  "}, "summary", "This field is required."),
    ({"kind": "fax"}, "kind", "Select a valid choice."),
])
def test_contact_form_errors_are_a_400_beside_the_field(client, navigator, course, overrides,
                                                        field, message):
    client.force_login(navigator)
    response = contact_post(client, course.patient, **overrides)
    assert response.status_code == 400
    assert message in " ".join(response.context["contact_form"].errors[field])
    page = response.content.decode()
    assert message.split(" ", 2)[0] in page and 'role="alert"' in page
    assert '<details id="log-contact" open>' in page
    assert not ContactLogEntry.objects.exists()


def test_every_error_of_the_contact_form_is_shown_at_once(client, navigator, course):
    client.force_login(navigator)
    response = contact_post(client, course.patient, occurred_at="2024-12-18T08:00", summary="")
    assert response.status_code == 400
    errors = response.context["contact_form"].errors
    assert errors["occurred_at"] == ["The time of the contact is in the future."]
    assert errors["summary"] == ["This field is required."]
    assert 'aria-invalid="true"' in response.content.decode()


def test_a_task_of_another_patient_cannot_be_chosen(client, navigator, course, centre, oncologist):
    other = PatientFactory(centre=centre, referring_oncologist=oncologist)
    task = add_task(course)
    client.force_login(navigator)
    response = contact_post(client, other, task=str(task.external_id))
    assert response.status_code == 400
    assert "task" in response.context["contact_form"].errors
    assert not ContactLogEntry.objects.exists()


# --- the SSA injection form -----------------------------------------------------------------


def ssa_post(client, patient, **overrides):
    data = {"ssa-agent": "lanreotide", "ssa-given_at": "2024-12-16T10:15", "ssa-dose_mg": "120",
            "ssa-given_by": "Practice nurse", "ssa-place": "Hillview Oncology"}
    data.update({f"ssa-{key}": value for key, value in overrides.items()})
    return client.post(reverse("patients:ssa-injection-add", args=[patient.external_id]), data)


def test_the_referring_oncologist_records_an_injection(client, oncologist, course):
    patient = course.patient
    client.force_login(oncologist)
    response = ssa_post(client, patient)
    assert response.status_code == 302
    assert response["Location"] == f"{detail(patient)}#ssa-injections"
    injection = SSAInjection.objects.get()
    assert (injection.agent, injection.dose_mg, injection.recorded_by) == (
        "lanreotide", Decimal("120.0"), oncologist)
    patient.refresh_from_db()
    assert patient.last_long_acting_ssa_on == dt.date(2024, 12, 16)
    page = client.get(response["Location"]).content.decode()
    assert "Lanreotide (long-acting) injection recorded." in page


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"agent": "none"}, "agent", "Select a valid choice."),
    ({"agent": ""}, "agent", "This field is required."),
    ({"given_at": "2024-12-18T10:00"}, "given_at", "The time of the injection is in the future."),
    ({"given_at": "yesterday"}, "given_at", "Enter a valid date/time."),
    ({"dose_mg": "-5"}, "dose_mg", "Ensure this value is greater than or equal to 0.1."),
])
def test_injection_form_errors_are_a_400_beside_the_field(client, navigator, course, overrides,
                                                          field, message):
    client.force_login(navigator)
    response = ssa_post(client, course.patient, **overrides)
    assert response.status_code == 400
    assert message in " ".join(response.context["ssa_form"].errors[field])
    assert '<details id="record-ssa" open>' in response.content.decode()
    assert not SSAInjection.objects.exists()


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["outside_navigator", "oncologist2"])
def test_outsiders_get_a_404(client, request, course, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(detail(course.patient)).status_code == 404
    assert contact_post(client, course.patient).status_code == 404
    assert ssa_post(client, course.patient).status_code == 404
    assert not ContactLogEntry.objects.exists() and not SSAInjection.objects.exists()


# --- queries --------------------------------------------------------------------------------


def test_the_page_keeps_its_query_count_as_the_record_grows(client, navigator, oncologist,
                                                            course, time_machine):
    time_machine.move_to(LATER, tick=False)
    patient = course.patient
    cycles = list(course.cycles.order_by("number"))

    def add(first: int, count: int) -> None:
        for i in range(first, first + count):
            owner = navigator if i % 2 else None
            task = add_task(course, sequence=i, due=TODAY + dt.timedelta(days=i - 3),
                            owner_user=owner)
            add_contact(patient, oncologist if i % 2 else navigator, task=task, hours_ago=i)
            add_injection(patient, navigator, days_ago=i)
            if i <= len(cycles):
                administer(cycles[i - 1], navigator)

    def load():
        response = client.get(detail(patient))
        assert response.status_code == 200
        return response

    client.force_login(navigator)
    add(1, 1)
    load()  # the centre's reference ranges are now in the cache
    response = assert_constant_queries(load, grow=lambda: add(2, 4))
    context = response.context
    assert (len(context["course_tasks"]), len(context["contacts"]),
            len(context["ssa_injections"]), len(context["administered_cycles"])) == (5, 5, 5, 4)


def test_the_record_entries_keep_the_query_count_as_they_grow(client, navigator, specialist,
                                                              course, time_machine):
    """Lab results (some marked in error, some read with the centre's range), performance
    status assessments and the entry forms of each: no query per row."""
    from patients.models import LabResult, PerformanceStatus
    from patients.ranges import reference_range_save

    time_machine.move_to(LATER, tick=False)
    patient = course.patient
    reference_range_save(actor=navigator, centre=patient.centre, analyte="creatinine",
                         unit="umol/L", uln="90", laboratory="Riverside Pathology")

    def add(first: int, count: int) -> None:
        for i in range(first, first + count):
            user = specialist if i % 2 else navigator
            lab = LabResult.objects.create(
                patient=patient, analyte="creatinine", value=80 + i, unit="umol/L",
                collected_at=LATER - dt.timedelta(days=i), entered_by=user)
            if i % 2:
                LabResult.objects.filter(pk=lab.pk).update(
                    entered_in_error=True, error_reason=f"Haemolysed {i}",
                    marked_in_error_by=user, marked_in_error_at=LATER)
            PerformanceStatus.objects.create(
                patient=patient, scale="ecog", value=i % 3, entered_by=user,
                assessed_on=TODAY - dt.timedelta(days=i), assessed_by="Dr Hale")

    def load():
        response = client.get(detail(patient))
        assert response.status_code == 200
        return response

    client.force_login(navigator)
    add(1, 1)
    load()  # the centre's reference ranges are now in the cache
    response = assert_constant_queries(load, grow=lambda: add(2, 4))
    html = response.content.decode()
    assert len(response.context["lab_results"]) == 5
    assert html.count("<del>") >= 3 and "Haemolysed 3" in html
    assert "ULN 90 µmol/L (Riverside Pathology)" in html
    assert html.count('data-performance="') == 5
    assert "Set the primary oncologist" in html  # the centre's team may grant access


def test_an_administration_links_to_its_record_and_amendments(client, navigator, course,
                                                              time_machine):
    time_machine.move_to(LATER, tick=False)
    cycle = course.cycles.get(number=1)
    administer(cycle, navigator)
    client.force_login(navigator)
    html = client.get(detail(course.patient)).content.decode()
    assert reverse("prrt:cycle", args=[cycle.external_id]) + "#administration" in html


# --- each table once, forms on demand ------------------------------------------------------


def _add_record(course, user, *, first: int, count: int) -> None:
    """`count` more of everything the page lists, numbered from `first`."""
    from patients.models import AdverseEvent, ImagingStudy, LabResult, PerformanceStatus
    from tests.factories import ReferralFactory

    patient = course.patient
    cycles = list(course.cycles.order_by("number"))
    for i in range(first, first + count):
        task = add_task(course, sequence=i, due=TODAY + dt.timedelta(days=i - 3))
        add_contact(patient, user, task=task, hours_ago=i)
        add_injection(patient, user, days_ago=i)
        if i <= len(cycles):
            administer(cycles[i - 1], user)
        LabResult.objects.create(patient=patient, analyte="creatinine", value=80 + i,
                                 unit="umol/L", collected_at=LATER - dt.timedelta(days=i),
                                 entered_by=user)
        PerformanceStatus.objects.create(patient=patient, scale="ecog", value=i % 3,
                                         entered_by=user, assessed_by="Dr Hale",
                                         assessed_on=TODAY - dt.timedelta(days=i))
        AdverseEvent.objects.create(patient=patient, term=f"Nausea {i}", ctcae_grade=1,
                                    onset_on=TODAY - dt.timedelta(days=i), reported_by=user)
        ImagingStudy.objects.create(patient=patient, modality="ct",
                                    performed_on=TODAY - dt.timedelta(days=30 + i),
                                    entered_by=user)
        ReferralFactory(patient=patient, centre=patient.centre,
                        referring_oncologist=patient.referring_oncologist)


def test_the_page_reads_each_table_once(navigator, course, time_machine):
    """The view's queries, at a small record and at a large one: the patient (with centre,
    oncologists, tumour), the audit row, the lab results, the course's cycles (with the course
    and administrations), their decisions, the course's open tasks, the contact log, the SSA
    injections, imaging, and performance status, adverse events and referrals together. The
    centre's reference ranges come from the cache (one query more when it is cold). The entry
    forms are not built: they come when opened."""
    time_machine.move_to(LATER, tick=False)
    _add_record(course, navigator, first=1, count=1)
    request = RequestFactory().get(detail(course.patient))
    request.user = navigator

    def load():
        response = patient_detail(request, external_id=course.patient.external_id)
        assert response.status_code == 200
        return response.content.decode()

    with assert_queries(11):  # the reference ranges are read, and kept
        load()
    with assert_queries(10):
        small = load()
    _add_record(course, navigator, first=2, count=30)
    with assert_queries(10):
        large = load()
    assert "journey-desc" in small and 'data-cycle="1"' in small
    assert "primary-primary_oncologist" not in small and "labs-collected_on" not in small
    assert small.count("data-performance=") == 1 and large.count("data-performance=") == 31
    assert "Nausea 31" in large and large.count("Grade 1</td>") == 31
    assert large.count(reverse("referrals:detail", args=[
        course.patient.referrals.order_by("-created_at", "-id").first().external_id])) == 1


def test_the_short_lists_show_what_the_rows_hold(client, navigator, oncologist, course,
                                                 time_machine):
    """Performance status, adverse events and referrals, read together as JSON rows, show the
    same values, labels, people and order as the model rows."""
    from patients.models import AdverseEvent, PerformanceStatus

    time_machine.move_to(LATER, tick=False)
    patient = course.patient
    navigator.first_name, navigator.last_name = "Nia", "Reyes"
    navigator.save()
    oncologist.first_name = oncologist.last_name = ""
    oncologist.save()
    older = PerformanceStatus.objects.create(patient=patient, scale="karnofsky", value=80,
                                             entered_by=oncologist,
                                             assessed_on=TODAY - dt.timedelta(days=9))
    newer = PerformanceStatus.objects.create(patient=patient, scale="ecog", value=1,
                                             entered_by=navigator, assessed_by="Dr Hale",
                                             assessed_on=TODAY - dt.timedelta(days=2))
    AdverseEvent.objects.create(patient=patient, term="Thrombocytopenia",
                                category="thrombocytopenia", ctcae_grade=3,
                                onset_on=dt.date(2025, 6, 3), reported_by=navigator)
    client.force_login(navigator)
    response = client.get(detail(patient))
    html = response.content.decode()
    performance = response.context["performance"]
    assert [ps.pk for ps in performance] == [newer.pk, older.pk]
    assert (performance[0].assessed_on, performance[0].entered_by.username) == (
        newer.assessed_on, navigator.username)
    assert (f'<tr data-performance="{newer.pk}"><td>{newer.assessed_on:%-d %b %Y}</td>'
            "<td>ECOG</td><td>1</td><td>Dr Hale</td><td>Nia Reyes</td></tr>") in html
    assert f"<td>Karnofsky</td><td>80</td><td>—</td><td>{oncologist.username}</td>" in html
    assert ("<td>3 Jun 2025</td><td>Thrombocytopenia</td><td>Thrombocytopenia</td>"
            "<td>Grade 3</td><td>Nia Reyes</td>") in html
    referral = patient.referrals.get()
    assert (f'<a href="{reverse("referrals:detail", args=[referral.external_id])}">'
            f"{referral.created_at:%-d %b %Y} to {referral.centre.name}</a>: "
            f"{referral.get_state_display()}") in html


def test_a_saved_reference_range_shows_at_once(client, navigator, course, time_machine):
    """The page reads the centre's ranges through the cache; saving a range (through the
    service, or any save or delete of the row) drops the cached copy."""
    from patients.models import LabResult, ReferenceRange
    from patients.ranges import CentreRanges, reference_range_save

    time_machine.move_to(LATER, tick=False)
    patient = course.patient
    LabResult.objects.create(patient=patient, analyte="creatinine", value=80, unit="umol/L",
                             collected_at=LATER - dt.timedelta(days=1), entered_by=navigator)
    client.force_login(navigator)
    assert "ULN 90" not in client.get(detail(patient)).content.decode()  # cached: no range
    saved = reference_range_save(actor=navigator, centre=patient.centre, analyte="creatinine",
                                 unit="umol/L", uln="90", laboratory="Riverside Pathology")
    assert "ULN 90 µmol/L (Riverside Pathology)" in client.get(detail(patient)).content.decode()
    reference_range_save(actor=navigator, centre=patient.centre, analyte="creatinine",
                         unit="µmol/L", uln="95", laboratory="Riverside Pathology")
    assert "ULN 95 µmol/L" in client.get(detail(patient)).content.decode()
    ReferenceRange.objects.filter(pk=saved.pk).get().delete()  # not a service path: the signal
    assert "ULN 95" not in client.get(detail(patient)).content.decode()
    with assert_queries(0):
        assert CentreRanges.cached(patient.centre_id).range_for("creatinine", "umol/L") is None


def test_the_cache_is_dropped_again_when_the_range_commits(navigator, course,
                                                           django_capture_on_commit_callbacks):
    """A page read between the save and the commit puts the old ranges back in the cache: the
    commit drops them again."""
    from patients.ranges import CentreRanges, reference_range_save

    centre = course.patient.centre
    with django_capture_on_commit_callbacks(execute=True):
        reference_range_save(actor=navigator, centre=centre, analyte="creatinine",
                             unit="umol/L", uln="90", laboratory="Riverside Pathology")
        # A page of another request, read before the commit, caches the old (no) ranges.
        cache.set(f"patients:reference-ranges:{centre.pk}", [])
        assert CentreRanges.cached(centre.pk).range_for("creatinine", "umol/L") is None
    with assert_queries(1):
        fresh = CentreRanges.cached(centre.pk)
    assert fresh.range_for("creatinine", "umol/L").uln == Decimal("90")


@pytest.mark.parametrize("name", ["labs", "ae", "performance", "contact", "ssa", "primary"])
def test_each_entry_form_is_served_alone(client, navigator, course, name):
    client.force_login(navigator)
    response = client.get(entry_form(course.patient, name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<form" in html and "<html" not in html and "csrfmiddlewaretoken" in html


def test_an_entry_form_opens_in_place_when_asked(client, navigator, course):
    client.force_login(navigator)
    page = client.get(detail(course.patient), {"record": "labs"}).content.decode()
    assert '<details id="add-labs" open>' in page and 'name="labs-collected_on"' in page
    assert '<details id="log-contact" hx-get=' in page


def test_entry_forms_are_scoped(client, navigator, oncologist, outside_navigator, course):
    client.force_login(outside_navigator)
    assert client.get(entry_form(course.patient, "labs")).status_code == 404
    client.force_login(oncologist)  # not of the centre's team: no primary oncologist form
    assert client.get(entry_form(course.patient, "primary")).status_code == 404
    assert client.get(entry_form(course.patient, "contact")).status_code == 200
    client.force_login(navigator)
    assert client.get(entry_form(course.patient, "nonsense")).status_code == 404


def test_the_written_out_in_error_field_is_the_forms_own(client, navigator, course):
    """The page writes the blank "mark in error" field of each result out by hand (a widget per
    result is costly): it must be exactly what LabInErrorForm renders."""
    from patients.forms import LabInErrorForm
    from patients.models import LabResult

    lab = LabResult.objects.create(patient=course.patient, analyte="platelets", value=210,
                                   unit="10^9/L", collected_at=NOW, entered_by=navigator)
    client.force_login(navigator)
    page = client.get(detail(course.patient)).content.decode()
    assert str(LabInErrorForm(prefix=f"err-{lab.external_id}")["reason"]) in page


def test_the_record_body_escapes_what_people_typed(client, navigator, centre, oncologist):
    """The page's body is rendered by Jinja2: names are text, never markup; a patient
    registered without a tumour profile yet says so."""
    patient = PatientFactory(centre=centre, referring_oncologist=oncologist,
                             family_name="<b>O'Brien</b>", given_name="Ann & Co")
    client.force_login(navigator)
    page = client.get(detail(patient)).content.decode()
    assert "<b>O'Brien</b>" not in page
    assert "Ann &amp; Co &lt;b&gt;O&#39;Brien&lt;/b&gt;" in page
    assert "No tumour profile recorded." in page
    assert page.count('name="csrfmiddlewaretoken"') >= 1

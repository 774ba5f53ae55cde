"""Corrections that reach the PRRT course: an administration record amended (with its history,
and the plan's tasks moving with it), a lab marked in error flagging the decision that used it,
and the centre's reference ranges frozen in a decision's labs snapshot."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from coordinators.models import CareTask, TaskKind, TaskState
from coordinators.plan import plan_sync
from netcare.models import AuditEvent
from netcare.workflow import TransitionForbidden, TransitionInvalid
from patients.models import AdverseEvent, LabResult
from patients.ranges import reference_range_save
from patients.services import lab_result_mark_in_error
from prrt import clinical, services
from prrt.amendments import administration_amend
from prrt.models import AdministrationAmendment, CourseState, CycleState
from tests.prrt.builders import approved_course, at, enter_labs, give

pytestmark = pytest.mark.django_db

C1 = dt.date(2025, 1, 6)


@pytest.fixture
def course(centre, oncologist, specialist, navigator, time_machine):
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC), tick=False)
    return approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                           first_dose=C1)


def tasks(course) -> dict:
    return {(t.kind, t.cycle, t.sequence): t for t in CareTask.objects.filter(course=course)}


def approve_cycle_1(course, specialist):
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    c1 = services.cycle_refresh(cycle=course.cycles.get(number=1),
                                today=C1 - dt.timedelta(days=2))
    return services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                                 activity_gbq=Decimal("7.4"), today=C1 - dt.timedelta(days=1))


@pytest.fixture
def given(course, specialist, navigator, time_machine, django_capture_on_commit_callbacks):
    """Cycle 1 given on 6 Jan 2025 at 10:00 (LAR at 16:00), the plan synced; now 9 Jan."""
    with django_capture_on_commit_callbacks(execute=True):
        plan_sync(course=course, today=dt.date(2024, 12, 17))
        approve_cycle_1(course, specialist)
        time_machine.move_to(dt.datetime(2025, 1, 6, 17, 0, tzinfo=dt.UTC), tick=False)
        give(navigator, course.cycles.get(number=1), C1)
    time_machine.move_to(dt.datetime(2025, 1, 9, 12, 0, tzinfo=dt.UTC), tick=False)
    return course.cycles.get(number=1).administration


# --- amending an administration record --------------------------------------------------------


def test_an_amended_infusion_day_moves_the_dependent_tasks(
        given, course, navigator, django_capture_on_commit_callbacks):
    before = tasks(course)
    assert course.cycles.get(number=2).planned_date == dt.date(2025, 3, 3)
    assert before[(TaskKind.INFUSION, 2, 1)].due == dt.date(2025, 3, 3)
    with django_capture_on_commit_callbacks(execute=True):
        amendment = administration_amend(
            actor=navigator, administration=given, reason="Infusion was on 8 Jan; typed wrong.",
            administered_at=at(dt.date(2025, 1, 8), 10), lar_injected_at=at(dt.date(2025, 1, 8),
                                                                             16))
    after = tasks(course)
    assert course.cycles.get(number=2).planned_date == dt.date(2025, 3, 5)
    assert after[(TaskKind.INFUSION, 2, 1)].due == dt.date(2025, 3, 5)
    assert after[(TaskKind.PRE_DOSE_LABS, 2, 1)].due == \
        before[(TaskKind.PRE_DOSE_LABS, 2, 1)].due + dt.timedelta(days=2)
    assert after[(TaskKind.INFUSION, 4, 1)].due == \
        before[(TaskKind.INFUSION, 4, 1)].due + dt.timedelta(days=2)
    # No task was duplicated; the given cycle's infusion stays done by its record.
    assert len(after) == len(before)
    assert after[(TaskKind.INFUSION, 1, 1)].state == TaskState.DONE
    # The original values are kept as the record's history, and audited.
    assert amendment.before["administered_at"] == "2025-01-06T10:00:00+00:00"
    assert amendment.after["administered_at"] == "2025-01-08T10:00:00+00:00"
    assert amendment.amended_by == navigator
    change = AuditEvent.objects.get(action="update",
                                    object_type="prrt.Administration")
    assert change.changes["administered_at"] == ["2025-01-06T10:00:00+00:00",
                                                 "2025-01-08T10:00:00+00:00"]
    assert change.patient_id == course.patient.external_id


def test_a_lar_time_added_later_closes_the_lar_task(course, specialist, navigator, time_machine,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        plan_sync(course=course, today=dt.date(2024, 12, 17))
        approve_cycle_1(course, specialist)
        time_machine.move_to(dt.datetime(2025, 1, 6, 17, 0, tzinfo=dt.UTC), tick=False)
        administration = services.cycle_administer(
            actor=navigator, cycle=course.cycles.get(number=1), administered_at=at(C1, 10),
            activity_gbq=Decimal("7.4"), no_short_acting_ssa_24h=True)
    assert tasks(course)[(TaskKind.LAR_INJECTION, 1, 1)].state == TaskState.OPEN
    with django_capture_on_commit_callbacks(execute=True):
        administration_amend(actor=navigator, administration=administration,
                             reason="LAR given at 15:00, recorded on paper.",
                             lar_injected_at=at(C1, 15))
    lar = tasks(course)[(TaskKind.LAR_INJECTION, 1, 1)]
    assert lar.state == TaskState.DONE
    assert lar.fulfilled_by == f"prrt.Administration:{administration.external_id}"


def test_an_amendment_needs_a_reason_a_change_and_the_centre_team(given, navigator, oncologist,
                                                                  outside_navigator):
    with pytest.raises(TransitionInvalid) as error:
        administration_amend(actor=navigator, administration=given, reason=" ",
                             notes="Flushing")
    assert error.value.field == "reason"
    with pytest.raises(TransitionInvalid) as error:
        administration_amend(actor=navigator, administration=given, reason="Check",
                             activity_gbq=Decimal("7.40"))
    assert "Nothing was changed" in error.value.message
    with pytest.raises(TransitionForbidden):
        administration_amend(actor=oncologist, administration=given, reason="Typo",
                             notes="x")
    with pytest.raises(Exception) as error:
        administration_amend(actor=outside_navigator, administration=given, reason="Typo",
                             notes="x")
    assert error.type.__name__ in ("Http404", "PermissionDenied")
    for bad, field in (({"activity_gbq": Decimal("9")}, "activity_gbq"),
                       ({"infusion_reaction_grade": 6}, "infusion_reaction_grade"),
                       ({"reaction_is_hypersensitivity": True}, "infusion_reaction_grade"),
                       ({"administered_at": at(dt.date(2025, 1, 20))}, "administered_at"),
                       ({"lar_injected_at": at(dt.date(2025, 1, 20))}, "lar_injected_at")):
        with pytest.raises(TransitionInvalid) as error:
            administration_amend(actor=navigator, administration=given, reason="Fix", **bad)
        assert error.value.field == field
    assert not AdministrationAmendment.objects.exists()


def test_an_infusion_time_stays_between_the_doses_around_it(given, course, specialist, navigator,
                                                            time_machine):
    c2 = course.cycles.get(number=2)
    enter_labs(specialist, course.patient, dt.date(2025, 3, 1))
    time_machine.move_to(dt.datetime(2025, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False)
    c2 = services.cycle_refresh(cycle=c2, today=dt.date(2025, 3, 2))
    services.cycle_decide(actor=specialist, cycle=c2, decision="approve",
                          activity_gbq=Decimal("7.4"), today=dt.date(2025, 3, 2))
    time_machine.move_to(dt.datetime(2025, 3, 4, 9, 0, tzinfo=dt.UTC), tick=False)
    second = give(navigator, c2, dt.date(2025, 3, 3))
    with pytest.raises(TransitionInvalid) as error:
        administration_amend(actor=navigator, administration=second, reason="Typo",
                             administered_at=at(dt.date(2025, 1, 5)))
    assert "after the dose of cycle 1" in error.value.message


def test_a_reaction_corrected_to_grade_3_hypersensitivity_stops_the_course(given, course,
                                                                           navigator):
    administration_amend(actor=navigator, administration=given,
                         reason="Anaphylaxis was recorded on the ward chart only.",
                         infusion_reaction_grade=3, reaction_is_hypersensitivity=True)
    course.refresh_from_db()
    assert course.state == CourseState.DISCONTINUED
    assert AdverseEvent.objects.filter(category="hypersensitivity", ctcae_grade=3).exists()
    assert course.cycles.get(number=2).state == CycleState.CANCELLED


def amend_post(administration, **overrides):
    data = {"administered_at": "2025-01-06T10:00", "lar_injected_at": "2025-01-06T16:00",
            "activity_gbq": "7.4", "amino_acids_given": "on", "antiemetic_given": "on",
            "infusion_reaction_grade": "", "notes": "", "reason": "Flushing was noted late."}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_cycle_page_amends_the_record_and_shows_its_history(client, given, navigator,
                                                                specialist):
    cycle = given.cycle
    url = reverse("prrt:cycle", args=[cycle.external_id])
    client.force_login(navigator)
    page = client.get(url).content.decode()
    assert 'id="administration"' in page and "Amend the administration record" in page
    assert 'value="2025-01-06T10:00"' in page  # prefilled in the centre's time (London)
    response = client.post(reverse("prrt:cycle-administration-amend", args=[cycle.external_id]),
                           amend_post(given, infusion_reaction_grade="1",
                                      notes="Mild flushing at 20 minutes."))
    assert response.status_code == 302
    assert response["Location"].endswith("#administration")
    given.refresh_from_db()
    assert (given.infusion_reaction_grade, given.notes) == (1, "Mild flushing at 20 minutes.")
    amendment = AdministrationAmendment.objects.get()
    assert amendment.before == {"infusion_reaction_grade": None, "notes": "", "warnings": []}
    assert amendment.reason == "Flushing was noted late."
    client.force_login(specialist)
    page = client.get(url).content.decode()
    assert "Amendments" in page and "Flushing was noted late." in page
    assert "<td><del>None</del></td><td>Grade 1</td>" in page
    assert "Mild flushing at 20 minutes." in page


@pytest.mark.parametrize(("overrides", "field"), [
    ({"reason": ""}, "reason"),
    ({"activity_gbq": "9"}, "activity_gbq"),
    ({"administered_at": "2025-01-20T10:00"}, "administered_at"),
    ({"administered_at": ""}, "administered_at"),
    ({"infusion_reaction_grade": "7"}, "infusion_reaction_grade"),
])
def test_a_bad_amendment_is_a_form_error_and_nothing_is_saved(client, given, navigator,
                                                              overrides, field):
    client.force_login(navigator)
    response = client.post(
        reverse("prrt:cycle-administration-amend", args=[given.cycle.external_id]),
        amend_post(given, notes="Changed", **overrides))
    assert response.status_code == 400
    assert field in response.context["amend_form"].errors
    given.refresh_from_db()
    assert given.notes == "" and not AdministrationAmendment.objects.exists()


def test_an_unchanged_amendment_is_refused_on_the_page(client, given, navigator):
    client.force_login(navigator)
    response = client.post(
        reverse("prrt:cycle-administration-amend", args=[given.cycle.external_id]),
        amend_post(given))
    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    assert not AdministrationAmendment.objects.exists()


def test_an_oncologist_cannot_amend(client, given, oncologist):
    client.force_login(oncologist)
    response = client.post(
        reverse("prrt:cycle-administration-amend", args=[given.cycle.external_id]),
        amend_post(given, notes="x"))
    assert response.status_code == 403
    page = client.get(reverse("prrt:cycle", args=[given.cycle.external_id])).content.decode()
    assert "Amend the administration record" not in page
    assert not AdministrationAmendment.objects.exists()


# --- a lab marked in error flags the decision that used it ------------------------------------


def test_a_lab_marked_in_error_leaves_the_rules_and_flags_the_decision(
        client, course, specialist, navigator, time_machine):
    decision = approve_cycle_1(course, specialist)
    platelets = LabResult.objects.get(analyte="platelets")
    assert decision.labs_snapshot["platelets"]["id"] == str(platelets.external_id)
    cycle = decision.cycle
    url = reverse("prrt:cycle", args=[cycle.external_id])
    client.force_login(specialist)
    assert "lab-in-error-flag" not in client.get(url).content.decode()

    time_machine.move_to(dt.datetime(2025, 1, 5, 8, 0, tzinfo=dt.UTC), tick=False)
    lab_result_mark_in_error(actor=navigator, result=platelets,
                             reason="Result belonged to another patient")
    client.force_login(specialist)  # a new session at the new time
    # The rules no longer read it: the pre-dose labs lack platelets now.
    latest, _ = clinical.pre_dose_labs(cycle, today=C1 - dt.timedelta(days=1),
                                       config=clinical.rules_config(course.centre))
    assert "platelets" not in latest
    page = client.get(url).content.decode()
    assert "A lab used here was marked in error on 5 Jan 2025" in page
    assert "Result belonged to another patient" in page
    assert "Review this decision." in page
    # The decision itself is unchanged: it keeps what it was decided on.
    decision.refresh_from_db()
    assert decision.labs_snapshot["platelets"]["value"] == "210"


# --- reference ranges in a decision's snapshot -------------------------------------------------


def test_the_snapshot_keeps_the_range_it_used_when_the_centre_changes_it(course, specialist,
                                                                        navigator, centre):
    reference_range_save(actor=navigator, centre=centre, analyte="creatinine", unit="mg/dL",
                         lln="0.5", uln="1.1", laboratory="Riverside Pathology")
    decision = approve_cycle_1(course, specialist)
    creatinine = decision.labs_snapshot["creatinine"]
    assert (creatinine["uln"], creatinine["lln"], creatinine["uln_source"],
            creatinine["laboratory"]) == ("1.1", "0.5", "centre", "Riverside Pathology")
    bilirubin = decision.labs_snapshot["bilirubin"]
    assert (bilirubin["uln"], bilirubin["uln_source"], bilirubin["laboratory"]) == (
        "1.2", "result", "")
    graded = decision.recommendation["grades"]["creatinine"]
    assert graded["grade"] == 0  # 0.9 mg/dL under the ULN of 1.1: graded now
    reference_range_save(actor=navigator, centre=centre, analyte="creatinine", unit="mg/dL",
                         lln="0.5", uln="0.6", laboratory="Riverside Pathology")
    decision.refresh_from_db()
    assert decision.labs_snapshot["creatinine"]["uln"] == "1.1"
    assert decision.recommendation["grades"]["creatinine"]["grade"] == 0
    # What the rules would say now reads the new range; the decision does not.
    cycle = course.cycles.get(number=1)
    again = clinical._recommendation(  # noqa: SLF001
        cycle, today=C1 - dt.timedelta(days=1), config=clinical.rules_config(centre),
        latest=decision_labs(cycle))
    assert again.rendered["grades"]["creatinine"]["grade"] == 1


def decision_labs(cycle):
    latest, _ = clinical.pre_dose_labs(cycle, today=C1 - dt.timedelta(days=1),
                                       config=clinical.rules_config(cycle.course.centre))
    return latest


def test_only_the_team_changes_ranges_through_the_service(centre, oncologist):
    with pytest.raises(PermissionDenied):
        reference_range_save(actor=oncologist, centre=centre, analyte="creatinine",
                             unit="mg/dL", uln="1.1", laboratory="Practice lab")

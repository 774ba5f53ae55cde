"""PRRT pages: the approval queue and page, decisions and administration through forms, access
and query counts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from prrt import services
from prrt.models import CourseState, CycleDecision, CycleState, TreatmentCourse
from referrals.models import ReferralState
from tests.factories import PatientFactory, ReferralFactory
from tests.prrt.builders import approved_course, enter_labs
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def ready_course(centre, oncologist, specialist):
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=TODAY + dt.timedelta(days=2))
    enter_labs(specialist, course.patient, TODAY, platelets=("74", "10^9/L"))
    services.course_refresh(course=course, today=TODAY)
    return course


def test_open_a_course_from_the_referral_page(client, specialist, patient):
    referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
    client.force_login(specialist)
    page = client.get(reverse("referrals:detail", args=[referral.external_id])).content.decode()
    assert "Open PRRT course" in page
    response = client.post(reverse("prrt:course-open", args=[referral.external_id]),
                           {"planned_first_dose": "2026-12-07"})
    course = TreatmentCourse.objects.get()
    assert response["Location"] == reverse("prrt:course", args=[course.external_id])
    assert list(course.cycles.values_list("planned_date", flat=True)) == [
        dt.date(2026, 12, 7), dt.date(2027, 2, 1), dt.date(2027, 3, 29), dt.date(2027, 5, 24)]


def test_oncologist_cannot_open_a_course(client, oncologist, patient):
    referral = ReferralFactory(patient=patient, state=ReferralState.ACCEPTED)
    client.force_login(oncologist)
    client.post(reverse("prrt:course-open", args=[referral.external_id]),
                {"planned_first_dose": "2026-12-07"})
    assert not TreatmentCourse.objects.exists()


def test_eligibility_override_needs_a_reason(client, specialist, patient):
    referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
    course = services.course_open(actor=specialist, referral=referral,
                                  planned_first_dose=TODAY + dt.timedelta(days=14))
    client.force_login(specialist)
    url = reverse("prrt:course-eligibility", args=[course.external_id])
    page = client.get(reverse("prrt:course", args=[course.external_id])).content.decode()
    assert "No SSTR imaging recorded" in page
    response = client.post(url, {"decision": "approve", "reason": "", "labs_drawn_by": "practice",
                                 "lar_during_course_by": "centre",
                                 "lar_after_course_by": "practice"}, follow=True)
    assert "needs a reason" in response.content.decode()
    assert TreatmentCourse.objects.get().state == CourseState.ELIGIBILITY_REVIEW
    client.post(url, {"decision": "approve", "reason": "PET done elsewhere; report on file.",
                      "labs_drawn_by": "centre", "lar_during_course_by": "centre",
                      "lar_after_course_by": "practice"})
    course.refresh_from_db()
    assert course.state == CourseState.APPROVED
    assert course.eligibility_overridden and course.labs_drawn_by == "centre"
    assert any(f["code"] == "ELIGIBILITY.SSTR_IMAGING_MISSING" for f in course.eligibility_findings)
    course.referral.refresh_from_db()
    assert course.referral.state == ReferralState.IN_TREATMENT


def test_approval_page_shows_grades_crcl_and_recommendation(client, specialist, ready_course):
    cycle = ready_course.cycles.get(number=1)
    assert cycle.state == CycleState.READY
    client.force_login(specialist)
    page = client.get(reverse("prrt:cycle", args=[cycle.external_id])).content.decode()
    assert 'id="recommended-action">WITHHOLD<' in page
    assert "Grade 2" in page and "badge-warn" in page
    assert "Creatinine clearance" in page and "mL/min" in page
    queue = client.get(reverse("prrt:approvals")).content.decode()
    assert reverse("prrt:cycle", args=[cycle.external_id]) in queue


def test_withhold_then_approve_reduced_through_the_form(client, specialist, ready_course):
    cycle = ready_course.cycles.get(number=1)
    client.force_login(specialist)
    url = reverse("prrt:cycle-decide", args=[cycle.external_id])
    response = client.post(url, {"decision": "approve", "activity_gbq": "7.4", "reason": ""})
    assert response.status_code == 400
    assert "needs a written reason" in response.content.decode()
    assert not CycleDecision.objects.exists()
    response = client.post(url, {"decision": "withhold", "categories": ["thrombocytopenia"]})
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.state == CycleState.WITHHELD


@pytest.mark.parametrize(("persona", "status"), [
    ("specialist", 200), ("navigator", 200), ("oncologist", 200), ("oncologist2", 404),
    ("outside_specialist", 404), ("administrator", 404)])
def test_course_and_cycle_pages_access(client, request, ready_course, persona, status):
    client.force_login(request.getfixturevalue(persona))
    cycle = ready_course.cycles.get(number=1)
    assert client.get(reverse("prrt:course", args=[ready_course.external_id])).status_code == status
    assert client.get(reverse("prrt:cycle", args=[cycle.external_id])).status_code == status
    response = client.post(reverse("prrt:cycle-decide", args=[cycle.external_id]),
                           {"decision": "withhold", "categories": ["thrombocytopenia"]})
    assert response.status_code in ({404} if status == 404 else {302, 403})
    if persona != "specialist":
        cycle.refresh_from_db()
        assert cycle.state == CycleState.READY


def test_oncologist_reads_but_cannot_decide(client, oncologist, ready_course):
    cycle = ready_course.cycles.get(number=1)
    client.force_login(oncologist)
    page = client.get(reverse("prrt:cycle", args=[cycle.external_id])).content.decode()
    assert "Record decision" not in page
    response = client.post(reverse("prrt:cycle-decide", args=[cycle.external_id]),
                           {"decision": "withhold", "categories": ["thrombocytopenia"]})
    assert response.status_code == 403
    assert "Your role cannot withhold the cycle." in response.content.decode()


def test_navigator_records_the_administration(client, specialist, navigator, centre, oncologist):
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=TODAY)
    enter_labs(specialist, course.patient, TODAY - dt.timedelta(days=2))
    services.course_refresh(course=course, today=TODAY)
    cycle = course.cycles.get(number=1)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=TODAY)
    client.force_login(navigator)
    url = reverse("prrt:cycle-administer", args=[cycle.external_id])
    response = client.post(url, {"administered_at": "2026-11-22T08:30", "activity_gbq": "7.4",
                                 "amino_acids_given": "on", "antiemetic_given": "on"})
    assert response.status_code == 400  # the short-acting SSA attestation is missing
    response = client.post(url, {"administered_at": "2026-11-22T08:30", "activity_gbq": "7.4",
                                 "no_short_acting_ssa_24h": "on", "amino_acids_given": "on",
                                 "antiemetic_given": "on", "lar_injected_at": "2026-11-22T08:45"},
                           follow=True)
    assert "Octreotide LAR was given 0.2 h after the infusion" in response.content.decode()
    cycle.refresh_from_db()
    course.refresh_from_db()
    assert cycle.state == CycleState.ADMINISTERED and course.state == CourseState.ACTIVE
    assert course.cycles.get(number=2).due_date == dt.date(2027, 1, 17)


@pytest.mark.parametrize(("persona", "url"), [("specialist", "/prrt/approvals/"),
                                              ("navigator", "/prrt/courses/"),
                                              ("specialist", "/specialist/")])
def test_list_pages_keep_constant_queries(client, request, centre, oncologist, specialist,
                                          persona, url):
    def add(n):
        for _ in range(n):
            patient = PatientFactory(centre=centre, referring_oncologist=oncologist)
            referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
            course = services.course_open(actor=specialist, referral=referral,
                                          planned_first_dose=TODAY)
            cycle = course.cycles.get(number=1)
            type(cycle).objects.filter(pk=cycle.pk).update(state=CycleState.READY)

    def load():
        assert client.get(url).status_code == 200

    client.force_login(request.getfixturevalue(persona))
    add(3)
    assert_constant_queries(load, grow=lambda: add(27))

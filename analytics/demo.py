"""The demo's archive: two dozen synthetic patients treated over the past year, so that the
coordination dashboard has months of history to show. Their records and event rows are written
as they were recorded at the time (the services stamp what they record with today). Every
name and number here is invented."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from coordinators.models import CareTask, CareTaskEvent, OwnerParty, ReferralLetter, TaskKind
from netcare.models import Centre, User
from patients.models import Patient
from prrt.models import (
    Administration,
    CourseEvent,
    Cycle,
    CycleDecision,
    DoseOrder,
    Supplier,
    TreatmentCourse,
)
from referrals.models import Referral, ReferralEvent

MRN_PREFIX = "NC01-9"
FAMILIES = ["Abbott", "Barlow", "Carver", "Dalton", "Ellery", "Fenwick", "Garside", "Holt",
            "Ingram", "Jarvis", "Kemble", "Larkin", "Mercer", "Nolan", "Orme", "Pryce",
            "Quayle", "Rowley", "Sutton", "Thorne", "Upton", "Vickers", "Wray", "Yardley"]
GIVEN = ["Alma", "Bernard", "Cora", "Desmond", "Elsie", "Frank", "Greta", "Harold"]
SLIPS = [0, 2, 5, 9, 1, 0, 12, 3]


def seed_demo_history(*, today: dt.date) -> int:
    """Write the archive once (nothing when it is there); returns the patients written."""
    centre = Centre.objects.get(kind=Centre.Kind.SPECIALIST_CENTRE, name="Riverside NET Centre")
    if Patient.objects.filter(centre=centre, mrn__startswith=MRN_PREFIX).exists():
        return 0
    people = {u.username: u for u in User.objects.filter(
        username__in=["navigator", "specialist", "oncologist", "oncologist2"])}
    zone = zoneinfo.ZoneInfo(centre.time_zone)
    for i, family in enumerate(FAMILIES):
        _archive_patient(i, family, centre, people, zone, today)
    return len(FAMILIES)


def _stamp(model, pk: int, **moments) -> None:
    """Set the times a model stamps by itself (auto_now_add) to when it happened."""
    model.objects.filter(pk=pk).update(**moments)


def _archive_patient(i: int, family: str, centre, people, zone, today: dt.date) -> None:
    def at(day: dt.date, hour: int = 10) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)

    navigator, specialist = people["navigator"], people["specialist"]
    oncologist = people["oncologist"] if i % 3 else people["oncologist2"]
    first = today - dt.timedelta(days=380 - 8 * i)
    total = 28 + (i * 7) % 35
    submitted = first - dt.timedelta(days=total)
    accepted = submitted + dt.timedelta(days=3 + i % 9)
    consult = accepted + dt.timedelta(days=5 + i % 8)
    patient = Patient.objects.create(
        centre=centre, referring_oncologist=oncologist, mrn=f"{MRN_PREFIX}{i:05d}",
        given_name=GIVEN[i % len(GIVEN)], family_name=family,
        date_of_birth=dt.date(1948 + i, 1 + i % 12, 1 + i % 27), sex="FM"[i % 2],
        weight_kg=Decimal(58 + i))
    ended = i in (9, 17)  # discontinued after cycle 2: a renal trigger
    referral = Referral.objects.create(
        patient=patient, referring_oncologist=oncologist, centre=centre, state="in_treatment",
        question="Is PRRT appropriate after progression on octreotide LAR?",
        submitted_at=at(submitted), consult_at=at(consult, 14), reviewer=specialist)
    steps = [("submit", "draft", "submitted", at(submitted), oncologist),
             ("start_review", "submitted", "under_review", at(submitted + dt.timedelta(days=1)),
              specialist),
             ("accept", "under_review", "accepted", at(accepted, 15), specialist),
             ("book_consult", "accepted", "consult_booked", at(accepted, 16), navigator),
             ("start_treatment", "consult_booked", "in_treatment", at(consult, 16), navigator)]
    for name, source, target, when, who in steps:
        event = ReferralEvent.objects.create(referral=referral, actor=who, transition=name,
                                             source=source, target=target)
        _stamp(ReferralEvent, event.pk, at=when)
    course = TreatmentCourse.objects.create(
        patient=patient, referral=referral, centre=centre,
        state="discontinued" if ended else "completed", planned_first_dose=first,
        eligibility_decided_by=specialist, eligibility_decided_at=at(consult, 17),
        eligibility_reason="Discussed at the NET MDT: eligible for PRRT (synthetic archive).")
    supplier = Supplier.objects.filter(centre=centre).first()
    due, reduced, last = first, i % 6 == 2, None
    for number in range(1, 5):
        withheld = reduced and number == 2
        given_on = due + dt.timedelta(days=(14 if withheld else 0)
                                      + (SLIPS[(i + number) % len(SLIPS)] if number > 1 else 0))
        cycle = Cycle.objects.create(course=course, number=number, due_date=due,
                                     planned_date=given_on, state="completed")
        if withheld:
            _decide(cycle, "withhold", at(due - dt.timedelta(days=1)), specialist,
                    categories=["thrombocytopenia"])
            if i == 2 and supplier is not None:  # withheld after the free cancellation: charged
                DoseOrder.objects.create(
                    cycle=cycle, supplier=supplier, state="cancelled", calibration_at=at(due, 8),
                    activity_gbq=Decimal("7.4"), late=True,
                    charge=supplier.late_cancellation_charge, currency=supplier.currency,
                    ended_at=at(due - dt.timedelta(days=1), 11),
                    end_reason="Withheld for platelets after the free-cancellation day.")
        activity = "3.7" if withheld else "7.4"
        _decide(cycle, "approve", at(given_on - dt.timedelta(days=1)), specialist,
                activity=activity)
        # The LAR 6 h after the infusion; for some, 26 h after it, or not recorded.
        lar = None if i % 10 == 4 else at(given_on) + dt.timedelta(hours=26 if i % 7 == 3 else 6)
        Administration.objects.create(
            cycle=cycle, administered_at=at(given_on), activity_gbq=Decimal(activity),
            lar_injected_at=lar, no_short_acting_ssa_24h=True, precautions_given=True,
            recorded_by=navigator)
        if i in (12, 20) and number == 3 and supplier is not None:  # a second dose, unused
            DoseOrder.objects.create(
                cycle=cycle, supplier=supplier, state="wasted", calibration_at=at(given_on, 8),
                activity_gbq=Decimal("7.4"), ineligible_on_testing=i == 20,
                charge=Decimal(0) if i == 20 else supplier.unused_dose_charge,
                currency=supplier.currency, ended_at=at(given_on, 18),
                end_reason="Received twice; one dose not given.")
        labs_due = given_on - dt.timedelta(days=7)
        done_on = labs_due + dt.timedelta(days=3 if (i + number) % 5 == 0 else 0)
        CareTask.objects.create(
            course=course, patient=patient, kind=TaskKind.PRE_DOSE_LABS, cycle=number,
            owner_party=OwnerParty.PRACTICE, earliest=labs_due - dt.timedelta(days=7),
            due=labs_due, latest=labs_due + dt.timedelta(days=2), state="done",
            done_at=at(done_on, 12), done_by=navigator)
        last = given_on
        if ended and number == 2:
            stop = at(given_on + dt.timedelta(days=50))
            _decide(cycle, "discontinue", stop, specialist, categories=["renal"])
            event = CourseEvent.objects.create(course=course, actor=specialist,
                                               transition="discontinue", source="active",
                                               target="discontinued",
                                               reason="Creatinine clearance fell (renal).")
            _stamp(CourseEvent, event.pk, at=stop)
            TreatmentCourse.objects.filter(pk=course.pk).update(
                ended_at=stop, ended_reason="Creatinine clearance fell (renal).")
            break
        due = given_on + dt.timedelta(days=56)
    letter_on = last + dt.timedelta(days=14 + (i * 5) % 30)
    if letter_on < today:
        ReferralLetter.objects.create(course=course, patient=patient, state="sent",
                                      body="Course letter (synthetic archive).",
                                      sent_at=at(letter_on, 12), sent_by=specialist)
        Referral.objects.filter(pk=referral.pk).update(state="referred_back")
        event = ReferralEvent.objects.create(referral=referral, actor=specialist,
                                             transition="refer_back", source="in_treatment",
                                             target="referred_back")
        _stamp(ReferralEvent, event.pk, at=at(letter_on, 12))
    _maintenance(i, course, patient, last, today, navigator, at)


def _decide(cycle, decision: str, when: dt.datetime, specialist, *, activity: str | None = None,
            categories: list[str] | None = None) -> None:
    action = {"withhold": "WITHHOLD", "discontinue": "DISCONTINUE"}.get(
        decision, "RESUME_REDUCED" if activity == "3.7" else "PROCEED")
    record = CycleDecision.objects.create(
        cycle=cycle, decision=decision, activity_gbq=Decimal(activity) if activity else None,
        categories=categories or [], recommended_action=action,
        recommendation={"action": action, "reasons": ["Synthetic archive record."]},
        labs_snapshot={}, follows_recommendation=True, decided_by=specialist)
    _stamp(CycleDecision, record.pk, decided_at=when)


def _maintenance(i: int, course, patient, last: dt.date, today: dt.date, navigator, at) -> None:
    """Octreotide LAR every 4 weeks after the last dose, given by the practice: mostly in
    their window, now and then late or skipped."""
    for sequence in range(1, 7):
        due = last + dt.timedelta(days=28 * sequence)
        if due + dt.timedelta(days=7) >= today:
            return
        skipped = (i + sequence) % 9 == 0
        late = (i + sequence) % 7 == 0
        task = CareTask.objects.create(
            course=course, patient=patient, kind=TaskKind.LAR_MAINTENANCE, sequence=sequence,
            owner_party=OwnerParty.PRACTICE, earliest=due - dt.timedelta(days=7), due=due,
            latest=due + dt.timedelta(days=7), state="skipped" if skipped else "done",
            done_at=None if skipped else at(due + dt.timedelta(days=10 if late else 0), 11),
            reason="The patient was away; the practice gave it at the next visit."
            if skipped else "")
        if skipped:
            event = CareTaskEvent.objects.create(task=task, actor=navigator, transition="skip",
                                                 source="open", target="skipped",
                                                 reason=task.reason)
            _stamp(CareTaskEvent, event.pk, at=at(due + dt.timedelta(days=9), 9))

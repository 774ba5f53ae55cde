"""A seeded history for the analytics tests: records and their event rows written with the dates
a test chooses (an event row's time is set after it is created, as auto_now_add would stamp
it with today), so that every figure has an answer known by construction."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from coordinators.models import CareTask, CareTaskEvent, OwnerParty, ReferralLetter, TaskKind
from prrt.models import (
    Administration,
    CourseEvent,
    Cycle,
    CycleDecision,
    DoseOrder,
    Supplier,
    TreatmentCourse,
)
from referrals.models import ReferralEvent, ReferralState
from tests.factories import PatientFactory, ReferralFactory

TZ = zoneinfo.ZoneInfo("Europe/London")  # the test centres' zone (tests.factories)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """`day` at `hour`:`minute` in the centre's zone."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


class History:
    """Writes courses at one centre; `specialist` decides and `navigator` records."""

    def __init__(self, *, centre, specialist, navigator) -> None:
        self.centre = centre
        self.specialist = specialist
        self.navigator = navigator

    # --- referral and course ----------------------------------------------------------------

    def course(self, oncologist, *, submitted: dt.datetime | None = None,
               accepted: dt.datetime | None = None, consult: dt.datetime | None = None,
               first_dose: dt.date | None = None, state: str = "completed",
               patient=None) -> TreatmentCourse:
        """A patient referred by `oncologist`: the referral's events at the given times, its
        consult, and a course planned for `first_dose`."""
        patient = patient or PatientFactory(centre=self.centre, referring_oncologist=oncologist)
        referral = ReferralFactory(patient=patient, state=ReferralState.IN_TREATMENT,
                                   consult_at=consult, submitted_at=submitted)
        steps = [("submit", "draft", "submitted", submitted),
                 ("start_review", "submitted", "under_review", submitted),
                 ("accept", "under_review", "accepted", accepted)]
        for name, source, target, when in steps:
            if when is not None:
                self.referral_event(referral, name, source, target, when)
        return TreatmentCourse.objects.create(
            patient=patient, referral=referral, centre=self.centre, state=state,
            planned_first_dose=first_dose or dt.date(2025, 1, 6))

    def referral_event(self, referral, name: str, source: str, target: str,
                       when: dt.datetime) -> ReferralEvent:
        event = ReferralEvent.objects.create(referral=referral, actor=self.specialist,
                                             transition=name, source=source, target=target)
        ReferralEvent.objects.filter(pk=event.pk).update(at=when)
        return event

    def cycle(self, course, number: int, *, due: dt.date, state: str = "completed") -> Cycle:
        return Cycle.objects.create(course=course, number=number, state=state, due_date=due,
                                    planned_date=due)

    def give(self, cycle, when: dt.datetime, *, activity: str = "7.4",
             lar_after: dt.timedelta | None = dt.timedelta(hours=6)) -> Administration:
        return Administration.objects.create(
            cycle=cycle, administered_at=when, activity_gbq=Decimal(activity),
            lar_injected_at=None if lar_after is None else when + lar_after,
            no_short_acting_ssa_24h=True, recorded_by=self.navigator)

    def decide(self, cycle, decision: str, when: dt.datetime, *, activity: str | None = None,
               categories: list[str] | None = None, triggers: list[str] | None = None
               ) -> CycleDecision:
        record = CycleDecision.objects.create(
            cycle=cycle, decision=decision,
            activity_gbq=Decimal(activity) if activity else None,
            categories=categories or [], recommended_action="PROCEED",
            recommendation={"triggers": [{"category": c} for c in triggers or []]},
            labs_snapshot={}, follows_recommendation=True, decided_by=self.specialist)
        CycleDecision.objects.filter(pk=record.pk).update(decided_at=when)
        return record

    def course_event(self, course, name: str, source: str, target: str,
                     when: dt.datetime) -> CourseEvent:
        event = CourseEvent.objects.create(course=course, actor=self.specialist,
                                           transition=name, source=source, target=target)
        CourseEvent.objects.filter(pk=event.pk).update(at=when)
        return event

    def letter(self, course, sent: dt.datetime | None, *,
               state: str = ReferralLetter.State.SENT) -> ReferralLetter:
        return ReferralLetter.objects.create(course=course, patient=course.patient, state=state,
                                             body="Letter.", sent_at=sent,
                                             sent_by=self.specialist if sent else None)

    # --- tasks ------------------------------------------------------------------------------

    def task(self, course, kind: str, *, due: dt.date, latest: dt.date | None = None,
             state: str = "open", done_at: dt.datetime | None = None, sequence: int = 1,
             owner_party: str = OwnerParty.CENTRE, owner_user=None,
             skipped_at: dt.datetime | None = None) -> CareTask:
        task = CareTask.objects.create(
            course=course, patient=course.patient, kind=kind, cycle=0, sequence=sequence,
            owner_party=owner_party, owner_user=owner_user, earliest=due, due=due,
            latest=latest or due, state=state, done_at=done_at,
            reason="Not needed." if state in ("skipped", "cancelled") else "")
        if skipped_at is not None:
            event = CareTaskEvent.objects.create(task=task, actor=self.navigator,
                                                 transition="skip", source="open",
                                                 target="skipped", reason="Not needed.")
            CareTaskEvent.objects.filter(pk=event.pk).update(at=skipped_at)
        return task

    def maintenance(self, course, *, due: dt.date, **extra) -> CareTask:
        return self.task(course, TaskKind.LAR_MAINTENANCE, due=due, latest=due + days(7),
                         owner_party=OwnerParty.PRACTICE, **extra)

    # --- dose orders ------------------------------------------------------------------------

    def order(self, cycle, state: str, ended: dt.datetime, *, charge: str = "0",
              late: bool = False, ineligible: bool = False, currency: str = "USD") -> DoseOrder:
        supplier, _ = Supplier.objects.get_or_create(centre=self.centre, name="Isotopes")
        return DoseOrder.objects.create(
            cycle=cycle, supplier=supplier, state=state, calibration_at=ended + days(3),
            activity_gbq=Decimal("7.4"), late=late, ineligible_on_testing=ineligible,
            charge=Decimal(charge), currency=currency, ended_at=ended)

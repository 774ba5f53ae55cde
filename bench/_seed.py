"""The data the page benchmarks run on: centres of 5, 2,000 and 10,000 active patients, each
with its navigator, courses, cycles, labs and care tasks, seeded once into the benchmark
database (bulk inserts; a second run finds them). Not a benchmark itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal


def seed(n_patients: int):
    """A centre of its own with `n_patients` active patients (created once) and its navigator;
    returns (centre, navigator). The 2,000-patient centre keeps the names it always had."""
    from coordinators.models import CareTask, OwnerParty, TaskKind
    from netcare.models import Centre, Role, User
    from patients.models import LabResult, Patient
    from prrt.models import Cycle, TreatmentCourse
    from referrals.models import Referral

    suffix = "" if n_patients == 2000 else f" {n_patients}"
    centre, _ = Centre.objects.get_or_create(
        name=f"Benchmark NET Centre{suffix}", defaults={"kind": Centre.Kind.SPECIALIST_CENTRE,
                                               "time_zone": "Europe/London"})
    practice, _ = Centre.objects.get_or_create(
        name="Benchmark Practice", defaults={"kind": Centre.Kind.REFERRING_PRACTICE})
    navigator, _ = User.objects.get_or_create(
        username=f"bench-navigator{suffix.replace(' ', '-')}",
        defaults={"role": Role.NAVIGATOR, "centre": centre})
    oncologist, _ = User.objects.get_or_create(
        username="bench-oncologist",
        defaults={"role": Role.REFERRING_ONCOLOGIST, "centre": practice})
    existing = Patient.objects.filter(centre=centre).count()
    if existing >= n_patients:
        return centre, navigator
    today = dt.date.today()
    print(f"seeding {n_patients - existing} patients in {centre}...", flush=True)
    for start in range(existing, n_patients, 500):
        stop = min(start + 500, n_patients)
        patients = Patient.objects.bulk_create([
            Patient(centre=centre, referring_oncologist=oncologist, mrn=f"B{i:07d}",
                    given_name=f"Given{i}", family_name=f"Family{i:05d}",
                    date_of_birth=dt.date(1955 + i % 20, 1 + i % 12, 1 + i % 28),
                    sex="F" if i % 2 else "M", weight_kg=Decimal(60 + i % 30))
            for i in range(start, stop)])
        referrals = Referral.objects.bulk_create([
            Referral(patient=p, referring_oncologist=oncologist, centre=centre,
                     question="PRRT?", state="in_treatment") for p in patients])
        courses = TreatmentCourse.objects.bulk_create([
            TreatmentCourse(patient=p, referral=r, centre=centre, state="active",
                            planned_first_dose=today - dt.timedelta(days=p.pk % 100))
            for p, r in zip(patients, referrals, strict=True)])
        cycles, tasks, labs = [], [], []
        for course in courses:
            first = course.planned_first_dose
            for number in range(1, 5):
                day = first + dt.timedelta(days=56 * (number - 1))
                cycles.append(Cycle(course=course, number=number, due_date=day,
                                    planned_date=day,
                                    state="completed" if day < today else "planned",
                                    missing=["Pre-dose labs: Platelets."] if number == 2 else []))
                for kind, offset in ((TaskKind.PRE_DOSE_LABS, -7), (TaskKind.INFUSION, 0),
                                     (TaskKind.LAR_INJECTION, 0),
                                     (TaskKind.RADIATION_SAFETY_CHECKIN, 3)):
                    due = day + dt.timedelta(days=offset)
                    # The past is done, but one patient in ten has a late LAR injection.
                    late = kind == TaskKind.LAR_INJECTION and course.patient_id % 10 == 0
                    done = due < today and not late
                    tasks.append(CareTask(
                        course=course, patient_id=course.patient_id, kind=kind, cycle=number,
                        owner_party=OwnerParty.PRACTICE if kind == TaskKind.PRE_DOSE_LABS
                        else OwnerParty.CENTRE, earliest=due, due=due,
                        latest=due + dt.timedelta(days=2), state="done" if done else "open",
                        done_at=dt.datetime.combine(due, dt.time(10), tzinfo=dt.UTC)
                        if done else None))
            for analyte, value, unit in (("platelets", 180, "10^9/L"),
                                         ("hemoglobin", 120, "g/L"),
                                         ("creatinine", Decimal("0.9"), "mg/dL")):
                labs.append(LabResult(patient_id=course.patient_id, analyte=analyte,
                                      value=value, unit=unit, entered_by=navigator,
                                      collected_at=dt.datetime.combine(
                                          first, dt.time(8), tzinfo=dt.UTC)))
        Cycle.objects.bulk_create(cycles)
        CareTask.objects.bulk_create(tasks)
        LabResult.objects.bulk_create(labs)
        print(f"  {stop} patients", flush=True)
    return centre, navigator

"""Benchmark: the navigator's caseload and a patient page with 2,000 active patients.

Seeds (once) 2,000 active patients with their courses, cycles, labs and open care tasks in a
PostgreSQL database of its own, then measures the server time of the caseload page and of a
patient page (median and p95 over repeated requests through Django's test client), next to the
time of the bare SQL that fetches the same rows, measured in the same run. Prints both and the
ratio. Run: `make bench` or `python -m bench.dashboard [--patients 2000] [--repeat 30]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from decimal import Decimal

from bench._setup import bench_django

BENCH_DB = "netcare_bench"


def setup_django() -> None:
    bench_django(BENCH_DB)
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]


def seed(n_patients: int) -> None:
    from coordinators.models import CareTask, OwnerParty, TaskKind
    from netcare.models import Centre, Role, User
    from patients.models import LabResult, Patient
    from prrt.models import Cycle, TreatmentCourse
    from referrals.models import Referral

    centre, _ = Centre.objects.get_or_create(
        name="Benchmark NET Centre", defaults={"kind": Centre.Kind.SPECIALIST_CENTRE,
                                               "time_zone": "Europe/London"})
    practice, _ = Centre.objects.get_or_create(
        name="Benchmark Practice", defaults={"kind": Centre.Kind.REFERRING_PRACTICE})
    navigator, created = User.objects.get_or_create(
        username="bench-navigator", defaults={"role": Role.NAVIGATOR, "centre": centre})
    oncologist, _ = User.objects.get_or_create(
        username="bench-oncologist",
        defaults={"role": Role.REFERRING_ONCOLOGIST, "centre": practice})
    existing = Patient.objects.filter(centre=centre).count()
    if existing >= n_patients:
        return
    today = dt.date.today()
    print(f"seeding {n_patients - existing} patients...", flush=True)
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


def timed(call, repeat: int) -> list[float]:
    call()  # warm up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    setup_django()
    seed(args.patients)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics after the bulk load
    from django.test import Client

    from netcare.models import User
    from patients.models import Patient

    navigator = User.objects.get(username="bench-navigator")
    client = Client()
    client.force_login(navigator)
    today = dt.date.today()
    horizon = today + dt.timedelta(days=7)
    patient = Patient.objects.filter(centre=navigator.centre).order_by("pk").first()

    def dashboard():
        response = client.get("/navigator/")
        assert response.status_code == 200

    def patient_page():
        response = client.get(f"/patients/{patient.external_id}/")
        assert response.status_code == 200

    def bare_dashboard_sql():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.*, p.given_name, p.family_name, p.mrn, c.state "
                "FROM coordinators_caretask t JOIN patients_patient p ON p.id = t.patient_id "
                "JOIN prrt_treatmentcourse c ON c.id = t.course_id "
                "WHERE p.centre_id = %s AND t.state = 'open' AND t.due <= %s "
                "ORDER BY t.due, t.kind, t.cycle, t.sequence, t.id", [navigator.centre_id, horizon])
            cursor.fetchall()
            cursor.execute(
                "SELECT y.*, p.family_name FROM prrt_cycle y "
                "JOIN prrt_treatmentcourse c ON c.id = y.course_id "
                "JOIN patients_patient p ON p.id = c.patient_id WHERE p.centre_id = %s "
                "AND y.state IN ('planned', 'withheld') AND c.state IN ('approved', 'active') "
                "AND y.planned_date <= %s AND y.missing <> '[]'::jsonb",
                [navigator.centre_id, today + dt.timedelta(days=21)])
            cursor.fetchall()

    def bare_patient_sql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM patients_patient WHERE id = %s", [patient.pk])
            cursor.fetchall()
            cursor.execute("SELECT * FROM patients_labresult WHERE patient_id = %s "
                           "ORDER BY collected_at DESC", [patient.pk])
            cursor.fetchall()
            cursor.execute("SELECT * FROM prrt_cycle y JOIN prrt_treatmentcourse c "
                           "ON c.id = y.course_id WHERE c.patient_id = %s", [patient.pk])
            cursor.fetchall()

    rows = []
    for name, page, bare in (("caseload page", dashboard, bare_dashboard_sql),
                             ("patient page", patient_page, bare_patient_sql)):
        page_median, page_p95 = summary(timed(page, args.repeat))
        sql_median, sql_p95 = summary(timed(bare, args.repeat))
        rows.append((name, page_median, page_p95, sql_median, sql_p95))
    print(f"\n{args.patients} active patients, {args.repeat} requests each (ms)")
    print(f"{'':16}{'median':>10}{'p95':>10}{'bare SQL median':>18}{'bare p95':>10}"
          f"{'ratio':>8}")
    for name, pm, pp, sm, sp in rows:
        print(f"{name:16}{pm:10.1f}{pp:10.1f}{sm:18.2f}{sp:10.2f}{pm / sm:8.1f}")


if __name__ == "__main__":
    main()

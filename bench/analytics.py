"""Benchmark: the coordination dashboard (/analytics/) of a centre of 2,000 patients with their
whole history (referral events, four cycles with decisions and administrations, withholds and
reductions, care tasks, letters, dose orders, e-consults), next to a fair baseline measured in
the same run: the plain SQL (PostgreSQL, percentile_cont) that computes the same numbers for the
same period, one statement per figure. tests/analytics/test_baseline.py checks that the
baseline and the page's figures give the same numbers.

Ends with JSON lines: the page's median against the baseline's (target ≤ 2), and its queries.

Run: `make bench` or `python -m bench.analytics [--repeat 20] [--patients 2000]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import zoneinfo
from collections import Counter

from bench._setup import bench_django, figure, median, percentile, timed

BENCH_DB = "netcare_bench_analytics"
CATEGORIES = ("thrombocytopenia", "anaemia", "neutropenia", "renal", "hepatic", "other",
              "hypersensitivity")

# --- the baseline: the same numbers in plain SQL ------------------------------------------------

_PATIENTS = "JOIN patients_patient p ON p.id = c.patient_id WHERE p.centre_id = %(centre)s"
_DAY = "(({}) AT TIME ZONE %(tz)s)::date"


def _day(column: str) -> str:
    return _DAY.format(column)


def _quartiles(column: str) -> str:
    return f"percentile_cont(ARRAY[0.5, 0.25, 0.75]) WITHIN GROUP (ORDER BY {column})"


def _stats(row) -> dict:
    median, q1, q3 = row[0] or (None, None, None)
    return {"median": median, "q1": q1, "q3": q3}


_DECISIONS = """FROM prrt_cycledecision d JOIN prrt_cycle y ON y.id = d.cycle_id
                JOIN prrt_treatmentcourse c ON c.id = y.course_id """ + _PATIENTS


def _nonneg(expression: str) -> str:
    return f"CASE WHEN ({expression}) >= 0 THEN ({expression}) END"


def baseline(cursor, *, centre_id: int, first: dt.date, last: dt.date, tz: str,
             today: dt.date) -> dict[str, dict[str, dict]]:
    """Every figure's numbers for the centre `centre_id`, from the month of `first` to the month
    of `last` in the zone `tz`: {figure: {row key: {column: value}}}, the rows with any case."""
    zone = zoneinfo.ZoneInfo(tz)
    start = first.replace(day=1)
    end = (last.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    params = {"centre": centre_id, "tz": tz, "today": today, "first": start,
              "last": end - dt.timedelta(days=1),
              "since": dt.datetime.combine(start, dt.time.min, tzinfo=zone),
              "until": dt.datetime.combine(end, dt.time.min, tzinfo=zone)}

    def during(column: str) -> str:
        return f"{column} >= %(since)s AND {column} < %(until)s"

    found: dict[str, dict[str, dict]] = {}
    steps = {"review": _nonneg(f"{_day('reviewed')} - {_day('submitted')}"),
             "consult": _nonneg(f"{_day('consult')} - {_day('reviewed')}"),
             "dose": _nonneg(f"{_day('given')} - {_day('consult')}"),
             "total": _nonneg(f"{_day('given')} - {_day('submitted')}")}
    cursor.execute(
        f"""WITH doses AS (
              SELECT a.administered_at AS given, r.consult_at AS consult,
                     s.at AS submitted, v.at AS reviewed
              FROM prrt_administration a JOIN prrt_cycle y ON y.id = a.cycle_id
              JOIN prrt_treatmentcourse c ON c.id = y.course_id
              JOIN referrals_referral r ON r.id = c.referral_id
              LEFT JOIN referrals_referralevent s
                ON s.referral_id = r.id AND s.transition = 'submit'
              LEFT JOIN referrals_referralevent v
                ON v.referral_id = r.id AND v.target = 'accepted' {_PATIENTS}
                AND y.number = 1 AND {during('a.administered_at')}),
            steps AS (SELECT date_trunc('month', {_day('given')})::date AS month,
                        {', '.join(f'{e} AS {name}' for name, e in steps.items())} FROM doses)
            SELECT month, {', '.join(f'count({s}), {_quartiles(s)}' for s in steps)}
            FROM steps GROUP BY month""", params)
    rows = found.setdefault("referral-to-first-dose", {})
    for month, *values in cursor.fetchall():
        for i, step in enumerate(steps):
            n, *stats = values[2 * i:2 * i + 2]
            rows[f"{month:%Y-%m}:{step}"] = {"n": n, **_stats(stats)}

    cursor.execute(
        f"""SELECT number, count(*), {_quartiles('slip')}, count(*) FILTER (WHERE slip > 7)
            FROM (SELECT y.number, {_day('a.administered_at')} - y.due_date AS slip
                  FROM prrt_administration a JOIN prrt_cycle y ON y.id = a.cycle_id
                  JOIN prrt_treatmentcourse c ON c.id = y.course_id {_PATIENTS}
                    AND {during('a.administered_at')}) s
            GROUP BY number""", params)
    found["cycle-slippage"] = {str(number): {"n": n, **_stats(stats), "late": late}
                               for number, n, *stats, late in cursor.fetchall()}

    known = "ARRAY[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    cursor.execute(
        f"""SELECT kind, (SELECT coalesce(array_agg(x ORDER BY x) FILTER (
                                          WHERE x = ANY({known})), ARRAY['not_recorded'])
                          FROM (SELECT DISTINCT jsonb_array_elements_text(source) AS x) n)
            FROM (
              SELECT 'withheld' AS kind, d.categories AS source {_DECISIONS}
                AND {during('d.decided_at')} AND d.decision = 'withhold'
              UNION ALL
              SELECT CASE WHEN activity_gbq = 3.7 THEN 'reduced' ELSE 'escalated' END,
                     coalesce(withheld[array_upper(withheld, 1)], '[]'::jsonb)
              FROM (SELECT d.decision, d.activity_gbq, d.decided_at,
                      array_agg(d.activity_gbq) FILTER (WHERE d.decision = 'approve') OVER w
                        AS approved,
                      array_agg(d.categories) FILTER (WHERE d.decision = 'withhold') OVER w
                        AS withheld
                    {_DECISIONS}
                    WINDOW w AS (PARTITION BY y.course_id ORDER BY d.decided_at
                                 RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                                 EXCLUDE GROUP)) a
              WHERE a.decision = 'approve' AND a.decided_at >= %(since)s
                AND a.decided_at < %(until)s AND (a.activity_gbq = 3.7 OR (
                  a.activity_gbq = 7.4 AND approved[array_upper(approved, 1)] = 3.7))
              UNION ALL
              SELECT 'discontinued', CASE
                WHEN jsonb_array_length(coalesce(k.categories, '[]')) > 0 THEN k.categories
                WHEN jsonb_array_length(coalesce(k.recommendation -> 'triggers', '[]')) > 0
                  THEN (SELECT jsonb_agg(t -> 'category')
                        FROM jsonb_array_elements(k.recommendation -> 'triggers') t)
                WHEN ev.transition = 'discontinue_for_hypersensitivity'
                  THEN '["hypersensitivity"]'::jsonb
                ELSE '[]'::jsonb END
              FROM prrt_courseevent ev JOIN prrt_treatmentcourse c ON c.id = ev.course_id
              LEFT JOIN LATERAL (
                SELECT e.categories, e.recommendation FROM prrt_cycledecision e
                JOIN prrt_cycle ey ON ey.id = e.cycle_id WHERE ey.course_id = c.id
                  AND e.decision = 'discontinue' ORDER BY e.decided_at DESC, e.id DESC LIMIT 1
              ) k ON true
              {_PATIENTS} AND ev.target = 'discontinued' AND ev.cycle_id IS NULL
                AND {during('ev.at')}) m""", params)
    counts: Counter = Counter()
    for kind, categories in cursor.fetchall():
        for category in categories:
            counts[category, kind] += 1
    found["dose-modifications"] = {}
    for (category, kind), n in counts.items():
        found["dose-modifications"].setdefault(category, {})[kind] = n

    cursor.execute(
        f"""SELECT date_trunc('month', {_day('a.administered_at')})::date, count(*),
              count(*) FILTER (WHERE a.lar_injected_at BETWEEN a.administered_at
                + interval '4 hours' AND a.administered_at + interval '24 hours'),
              count(*) FILTER (WHERE a.lar_injected_at < a.administered_at + interval '4 hours'),
              count(*) FILTER (WHERE a.lar_injected_at > a.administered_at
                + interval '24 hours'),
              count(*) FILTER (WHERE a.lar_injected_at IS NULL)
            FROM prrt_administration a JOIN prrt_cycle y ON y.id = a.cycle_id
            JOIN prrt_treatmentcourse c ON c.id = y.course_id {_PATIENTS}
              AND {during('a.administered_at')} GROUP BY 1""", params)
    found["lar-timing"] = {f"{m:%Y-%m}": dict(zip(("n", "within", "early", "late", "missing"),
                                                  rest, strict=True))
                           for m, *rest in cursor.fetchall()}

    cursor.execute(
        f"""SELECT date_trunc('month', t.due)::date, count(*),
              count(*) FILTER (WHERE t.state = 'done' AND {_day('t.done_at')} <= t.latest),
              count(*) FILTER (WHERE t.state = 'done' AND {_day('t.done_at')} > t.latest),
              count(*) FILTER (WHERE t.state = 'skipped'
                               OR (t.state = 'open' AND t.latest < %(today)s)),
              count(*) FILTER (WHERE t.state = 'open' AND t.latest >= %(today)s)
            FROM coordinators_caretask t JOIN patients_patient p ON p.id = t.patient_id
            WHERE p.centre_id = %(centre)s AND t.kind = 'lar_maintenance'
              AND t.state <> 'cancelled' AND t.due BETWEEN %(first)s AND %(last)s
            GROUP BY 1""", params)
    found["maintenance-injections"] = {
        f"{m:%Y-%m}": dict(zip(("n", "on_time", "late", "missed", "open"), rest, strict=True))
        for m, *rest in cursor.fetchall()}

    cursor.execute(
        f"""SELECT kind, owner_party, owner, count(*), count(*) FILTER (WHERE state = 'open'),
                   {_quartiles('overdue')}
            FROM (SELECT t.kind, t.owner_party, u.external_id AS owner, t.state,
                    coalesce({_day('t.done_at')}, {_day('k.at')}, %(today)s) - t.due AS overdue
                  FROM coordinators_caretask t JOIN patients_patient p ON p.id = t.patient_id
                  LEFT JOIN netcare_user u ON u.id = t.owner_user_id
                  LEFT JOIN coordinators_caretaskevent k
                    ON k.task_id = t.id AND k.target = 'skipped'
                  WHERE p.centre_id = %(centre)s AND t.state IN ('open', 'done', 'skipped')
                    AND t.due BETWEEN %(first)s AND %(last)s) o
            WHERE overdue > 0 GROUP BY 1, 2, 3""", params)
    found["overdue-tasks"] = {f"{kind}:{party}:{owner or '-'}": {"n": n, "open": still,
                                                                 **_stats(stats)}
                              for kind, party, owner, n, still, *stats in cursor.fetchall()}

    after = _nonneg(f"{_day('l.sent_at')} - {_day('last_dose')}")
    cursor.execute(
        f"""WITH last AS (
              SELECT y.course_id, max(a.administered_at) AS last_dose
              FROM prrt_administration a JOIN prrt_cycle y ON y.id = a.cycle_id
              JOIN prrt_treatmentcourse c ON c.id = y.course_id {_PATIENTS}
              GROUP BY y.course_id)
            SELECT month, count(after), {_quartiles('after')}
            FROM (SELECT date_trunc('month', {_day('l.sent_at')})::date AS month, {after} AS after
                  FROM coordinators_referralletter l JOIN last ON last.course_id = l.course_id
                  JOIN patients_patient p ON p.id = l.patient_id
                  WHERE p.centre_id = %(centre)s AND l.state = 'sent'
                    AND {during('l.sent_at')}) s
            GROUP BY month""", params)
    found["referral-back"] = {f"{m:%Y-%m}": {"n": n, **_stats(stats)}
                              for m, n, *stats in cursor.fetchall()}

    cursor.execute(
        f"""SELECT o.currency,
              count(*) FILTER (WHERE o.state = 'cancelled' AND o.late),
              coalesce(sum(o.charge) FILTER (WHERE o.state = 'cancelled' AND o.late), 0),
              count(*) FILTER (WHERE o.state = 'wasted'),
              coalesce(sum(o.charge) FILTER (WHERE o.state = 'wasted'), 0),
              count(*) FILTER (WHERE o.state = 'wasted' AND o.ineligible_on_testing)
            FROM prrt_doseorder o JOIN prrt_cycle y ON y.id = o.cycle_id
            JOIN prrt_treatmentcourse c ON c.id = y.course_id {_PATIENTS}
              AND o.state IN ('cancelled', 'wasted') AND {during('o.ended_at')}
            GROUP BY o.currency""", params)
    found["order-losses"] = {}
    for currency, n_late, late, n_wasted, wasted, waived in cursor.fetchall():
        found["order-losses"][f"{currency}:late"] = {"n": n_late, "charge": late}
        found["order-losses"][f"{currency}:wasted"] = {"n": n_wasted, "charge": wasted,
                                                       "waived": waived}

    hours = "extract(epoch FROM (e.answered_at - e.asked_at)) / 3600.0"
    cursor.execute(
        f"""SELECT date_trunc('month', {_day('e.asked_at')})::date, count(*),
              count(e.answered_at), count(*) FILTER (WHERE e.state = 'asked'),
              {_quartiles(hours)}
            FROM network_econsult e WHERE e.centre_id = %(centre)s AND {during('e.asked_at')}
            GROUP BY 1""", params)
    found["econsult-response"] = {f"{m:%Y-%m}": {"n": n, "answered": answered,
                                                 "waiting": waiting, **_stats(stats)}
                                  for m, n, answered, waiting, *stats in cursor.fetchall()}
    return found


# --- the centre's history, seeded once --------------------------------------------------------


def seed(n_patients: int):
    """A centre of its own with `n_patients` patients and their whole history (created once;
    a second run finds them) and its navigator; returns (centre, navigator)."""
    from django.db import transaction

    from netcare.models import Centre, Role, User
    from patients.models import Patient

    centre, _ = Centre.objects.get_or_create(
        name=f"Analytics Benchmark Centre {n_patients}",
        defaults={"kind": Centre.Kind.SPECIALIST_CENTRE, "time_zone": "Europe/London"})
    navigator, _ = User.objects.get_or_create(
        username=f"bench-analytics-{n_patients}", defaults={"role": Role.NAVIGATOR,
                                                          "centre": centre})
    if Patient.objects.filter(centre=centre).exists():
        return centre, navigator
    print(f"seeding {n_patients} patients with their history...", flush=True)
    oncologists = []
    for i in range(4):
        practice, _ = Centre.objects.get_or_create(
            name=f"Analytics Benchmark Practice {i}",
            defaults={"kind": Centre.Kind.REFERRING_PRACTICE, "time_zone": "Europe/London"})
        oncologist, _ = User.objects.get_or_create(
            username=f"bench-analytics-oncologist-{i}",
            defaults={"role": Role.REFERRING_ONCOLOGIST, "centre": practice})
        oncologists.append(oncologist)
    specialist, _ = User.objects.get_or_create(
        username=f"bench-analytics-specialist-{n_patients}",
        defaults={"role": Role.SPECIALIST, "centre": centre})
    with transaction.atomic():  # all of it or nothing: a second run finds it whole
        for start in range(0, n_patients, 250):
            _seed_batch(centre, navigator, specialist, oncologists,
                        range(start, min(start + 250, n_patients)))
            print(f"  {min(start + 250, n_patients)} patients", flush=True)
    return centre, navigator


def _seed_batch(centre, navigator, specialist, oncologists, numbers: range) -> None:
    from decimal import Decimal

    from coordinators.models import CareTask, CareTaskEvent, OwnerParty, ReferralLetter
    from network.models import EConsult
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

    today = dt.date.today()
    utc = dt.UTC

    def at(day: dt.date, hour: int = 10) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), tzinfo=utc)

    supplier, _ = Supplier.objects.get_or_create(centre=centre, name="Benchmark Isotopes")
    patients = Patient.objects.bulk_create([
        Patient(centre=centre, referring_oncologist=oncologists[i % 4], mrn=f"A{i:07d}",
                given_name=f"Given{i}", family_name=f"Family{i:05d}",
                date_of_birth=dt.date(1950 + i % 25, 1 + i % 12, 1 + i % 28), sex="FM"[i % 2],
                weight_kg=Decimal(60 + i % 30)) for i in numbers])
    firsts = {p.pk: today - dt.timedelta(days=20 + (i * 7) % 400)
              for i, p in zip(numbers, patients, strict=True)}
    referrals = Referral.objects.bulk_create([
        Referral(patient=p, referring_oncologist=p.referring_oncologist, centre=centre,
                 question="PRRT?", state="in_treatment",
                 consult_at=at(firsts[p.pk] - dt.timedelta(days=10 + i % 15)))
        for i, p in zip(numbers, patients, strict=True)])
    events, courses = [], []
    for i, p, r in zip(numbers, patients, referrals, strict=True):
        submitted = firsts[p.pk] - dt.timedelta(days=40 + i % 30)
        events += [ReferralEvent(referral=r, transition="submit", source="draft",
                                 target="submitted", reason=at(submitted).isoformat()),
                   ReferralEvent(referral=r, transition="accept", source="under_review",
                                 target="accepted",
                                 reason=at(submitted + dt.timedelta(days=3 + i % 10)).isoformat())]
        courses.append(TreatmentCourse(patient=p, referral=r, centre=centre, state="active",
                                       planned_first_dose=firsts[p.pk]))
    ReferralEvent.objects.bulk_create(events)
    TreatmentCourse.objects.bulk_create(courses)
    cycles, given, decided, tasks, letters, orders, ended = [], [], [], [], [], [], []
    for i, course in zip(numbers, courses, strict=True):
        day = course.planned_first_dose
        for number in range(1, 5):
            due = day if number == 1 else day + dt.timedelta(days=56)
            reduced = i % 9 == 0 and number == 2
            slip = (i + number) % 12 if number > 1 else 0
            day = due + dt.timedelta(days=slip + (14 if reduced else 0))
            done = day < today
            cycle = Cycle(course=course, number=number, due_date=due, planned_date=day,
                          state="completed" if done else "planned")
            cycles.append(cycle)
            if not done:
                continue
            # The LAR 6 h after the infusion; now and then 2 h or 30 h after it, or not at all.
            lar = None if i % 23 == 0 else at(day) + dt.timedelta(
                hours=30 if i % 17 == 0 else 2 if i % 29 == 0 else 6)
            given.append((cycle, at(day), "3.7" if reduced else "7.4", lar))
            if reduced:
                decided.append((cycle, "withhold", at(due - dt.timedelta(days=1)),
                                ["thrombocytopenia"] if i % 2 else ["neutropenia", "renal"]))
            decided.append((cycle, "approve", at(day - dt.timedelta(days=1), 9),
                            "3.7" if reduced else "7.4"))
            tasks.append((course, "pre_dose_labs", number, due - dt.timedelta(days=7),
                          (i + number) % 6))
            if number == 4:
                letters.append((course, at(day + dt.timedelta(days=20 + i % 40))))
                tasks.extend((course, "lar_maintenance", sequence,
                              day + dt.timedelta(days=28 * sequence), (i + sequence) % 5)
                             for sequence in range(1, 4))
            if i % 25 == 0 and number == 2:
                orders.append((cycle, "wasted", at(day), "2000", i % 50 == 0))
            if i % 30 == 0 and number == 3:
                orders.append((cycle, "cancelled", at(day - dt.timedelta(days=5)), "500",
                               False))
        if i % 50 == 7:
            ended.append(course)
    Cycle.objects.bulk_create(cycles)
    Administration.objects.bulk_create([
        Administration(cycle=c, administered_at=when, activity_gbq=Decimal(activity),
                       lar_injected_at=lar, no_short_acting_ssa_24h=True,
                       recorded_by=navigator) for c, when, activity, lar in given])
    rows = []
    for cycle, decision, when, extra in decided:
        rows.append(CycleDecision(
            cycle=cycle, decision=decision,
            activity_gbq=Decimal(extra) if decision == "approve" else None,
            categories=extra if decision == "withhold" else [], recommended_action="PROCEED",
            recommendation={}, labs_snapshot={}, follows_recommendation=True,
            reason=when.isoformat(), decided_by=specialist))
    CycleDecision.objects.bulk_create(rows)
    CourseEvent.objects.bulk_create([
        CourseEvent(course=c, transition="discontinue_for_hypersensitivity", source="active",
                    target="discontinued", reason=at(today - dt.timedelta(days=30)).isoformat())
        for c in ended])
    task_rows = []
    for course, kind, sequence, due, late in tasks:
        done_day = due + dt.timedelta(days=late - 1)
        state = "done" if done_day < today and late != 4 else "open"
        if kind == "lar_maintenance" and late == 3 and due < today:
            state = "skipped"
        task_rows.append(CareTask(
            course=course, patient_id=course.patient_id, kind=kind, cycle=0,
            sequence=sequence * 10 + (course.planned_first_dose.toordinal() % 7),
            owner_party=OwnerParty.PRACTICE, earliest=due, due=due,
            latest=due + dt.timedelta(days=2), state=state,
            done_at=at(done_day, 15) if state == "done" else None,
            reason="Not needed." if state == "skipped" else ""))
    CareTask.objects.bulk_create(task_rows)
    CareTaskEvent.objects.bulk_create([
        CareTaskEvent(task=t, transition="skip", source="open", target="skipped",
                      reason=at(t.due + dt.timedelta(days=4)).isoformat())
        for t in task_rows if t.state == "skipped"])
    ReferralLetter.objects.bulk_create([
        ReferralLetter(course=c, patient_id=c.patient_id, state="sent", body="Letter.",
                       sent_at=min(sent, at(today, 0)), sent_by=specialist)
        for c, sent in letters])
    DoseOrder.objects.bulk_create([
        DoseOrder(cycle=c, supplier=supplier, state=state, calibration_at=when,
                  activity_gbq=Decimal("7.4"), charge=Decimal(charge), late=state == "cancelled",
                  ineligible_on_testing=waived, ended_at=when)
        for c, state, when, charge, waived in orders])
    EConsult.objects.bulk_create([
        EConsult(centre=centre, asked_by=oncologists[i % 4], question="Candidate?",
                 primary_site="small_bowel", state="asked" if i % 7 == 0 else "answered",
                 asked_at=at(today - dt.timedelta(days=(i * 3) % 360), 9),
                 answered_at=None if i % 7 == 0 else at(today - dt.timedelta(days=(i * 3) % 360),
                                                        9) + dt.timedelta(hours=1 + i % 40),
                 answer="" if i % 7 == 0 else "Yes.",
                 response_hours=None if i % 7 == 0 else i % 40)
        for i in numbers if i % 4 == 0])
    _stamp(centre)


def _stamp(centre) -> None:
    """The times of the event rows, which their models stamp with now when created: kept in
    their `reason` while bulk-created, moved into place here."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table, column in (("referrals_referralevent", "at"), ("prrt_courseevent", "at"),
                              ("prrt_cycledecision", "decided_at"),
                              ("coordinators_caretaskevent", "at")):
            cursor.execute(
                f"UPDATE {table} SET {column} = reason::timestamptz, "
                f"reason = '' WHERE reason ~ '^[0-9]{{4}}-'")


# --- the run ------------------------------------------------------------------------------------


def setup_django() -> None:
    bench_django(BENCH_DB, DATABASE_CONN_MAX_AGE="600")
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]


def page_numbers(context) -> dict[str, dict[str, dict]]:
    """The numbers the page computed (its template context), in the baseline's shape: the rows
    with any case."""
    found: dict[str, dict[str, dict]] = {}
    for section in context["sections"]:
        shown = section["table"].figure
        rows = found.setdefault(shown.slug, {})
        for row in shown.rows:
            values = {k: v for k, v in row.values.items() if v not in (None, 0)}
            if values:
                rows[row.key] = values
    return found


def same(page: dict, bare: dict) -> list[str]:
    """What differs between the page's numbers and the baseline's (empty when nothing)."""
    differences = []
    for slug in sorted(set(page) | set(bare)):
        ours, theirs = page.get(slug, {}), bare.get(slug, {})
        for key in sorted(set(ours) | set(theirs)):
            a = {k: v for k, v in ours.get(key, {}).items() if v not in (None, 0)}
            b = {k: v for k, v in theirs.get(key, {}).items() if v not in (None, 0)}
            if set(a) != set(b) or any(abs(float(a[k]) - float(b[k])) > 1e-6 for k in a):
                differences.append(f"{slug} {key}: page {a} baseline {b}")
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.test import Client

    from bench.dashboard import _context, _view_queries
    from netcare.clock import user_today

    centre, navigator = seed(args.patients)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client = Client()
    client.force_login(navigator)
    today = user_today(navigator)
    first = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)

    def page():
        response = client.get("/analytics/")
        assert response.status_code == 200
        return response

    def bare():
        with connection.cursor() as cursor:
            return baseline(cursor, centre_id=centre.pk, first=first, last=today,
                            tz=centre.time_zone, today=today)

    differences = same(page_numbers(_context(page)), bare())
    assert not differences, "the baseline and the page differ:\n" + "\n".join(differences)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {args.repeat} requests each",
          flush=True)
    page_ms, bare_ms = timed(page, args.repeat), timed(bare, args.repeat)
    queries = _view_queries(page)
    size = len(page().content)
    print(f"analytics, {args.patients} patients: page median {median(page_ms):.1f} ms "
          f"(p95 {percentile(page_ms, 0.95):.1f}), baseline {median(bare_ms):.1f} ms, "
          f"{size / 1024:.0f} KiB, {queries} queries", flush=True)
    figure("analytics", patients=args.patients, value_ms=median(page_ms),
           baseline_ms=median(bare_ms), ratio=median(page_ms) / median(bare_ms), target=2.0)
    # The view's queries (tests/analytics/test_pages.py checks they do not grow with the data).
    figure("analytics_queries", patients=args.patients, queries=queries)
    print(json.dumps({"bench": "analytics_rows", "figures": {
        slug: len(rows) for slug, rows in bare().items()}}), flush=True)


if __name__ == "__main__":
    main()

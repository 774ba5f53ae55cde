"""Benchmark: the navigator's caseload (5, 2,000 and 10,000 active patients) and a patient page,
each next to its fair baseline, measured in the same run.

Seeds (once) a centre of each size in a PostgreSQL database of its own (bench/_seed.py), then
times the pages through Django's test client (server time: middleware, view, queries,
template) and, in the same run, the bare SQL that fetches exactly the rows and columns the page
renders and writes the same audit rows (bench/_baselines.py; tests/bench checks they return the
same ids). Ends with one JSON line per figure:

- caseload at 2,000 and at 10,000 patients: page median / baseline median, target ≤ 2 (the
  baseline computes the page from the records; the page reads its read model,
  coordinators/caseload_model.py, and a further figure per size sets it next to that read
  model's own SQL, for the record);
- caseload scaling: the 10,000-patient page median / the 2,000-patient one, target ≤ 1.5;
- caseload queries: the same number at 5 and at 10,000 patients;
- patient page: page median / baseline median, target ≤ 3; its queries (the view's), ≤ 10.

Run: `make bench` or `python -m bench.dashboard [--repeat 30] [--sizes 5,2000,10000]`.
"""

from __future__ import annotations

import argparse
import datetime as dt

from bench._setup import bench_django, figure, median, percentile, timed

BENCH_DB = "netcare_bench"


def setup_django() -> None:
    # Kept connections, as a server keeps them (`make bench` runs with DATABASE_CONN_MAX_AGE=0
    # for the tests, which would reconnect on every page and not on the baseline's queries).
    bench_django(BENCH_DB, DATABASE_CONN_MAX_AGE="600")
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _context(call):
    """The template context of the page `call` renders (instrumented for this call only, so
    the timings are of the plain page)."""
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    try:
        return call().context
    finally:
        teardown_test_environment()


def _view_queries(call) -> int:
    """The queries `call` runs, less those every signed-in page runs before and after its view
    (the user and their centre, the session's update) and transaction control."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    skipped = ("django_session", 'FROM "netcare_user" WHERE', 'FROM "netcare_centre" WHERE')
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    return sum(1 for query in captured.captured_queries
               if not any(part in query["sql"] for part in skipped)
               and not query["sql"].startswith(control))


def bench_caseload(sizes: list[int], repeat: int) -> None:
    from django.db import connection

    from bench import _baselines
    from bench._seed import seed
    from coordinators.caseload_views import _today

    results = {}
    for size in sizes:
        centre, navigator = seed(size)
        client = _client(navigator)
        today = _today(navigator)

        def page(client=client):
            response = client.get("/navigator/")
            assert response.status_code == 200
            return response

        def bare(centre=centre, navigator=navigator, today=today):
            with connection.cursor() as cursor:
                return _baselines.caseload(cursor, centre_id=centre.pk, actor_id=navigator.pk,
                                           today=today)

        def entries(centre=centre, navigator=navigator, today=today):
            with connection.cursor() as cursor:
                return _baselines.caseload_from_entries(
                    cursor, centre_id=centre.pk, actor_id=navigator.pk, today=today)

        shown = _context(page)["caseload"]
        ids = bare()
        assert ids["patients"] == [group.patient.pk for group in shown.groups], \
            "the baseline and the page show different patients"
        assert entries()["patients"] == ids["patients"]
        page_ms = timed(page, repeat)
        bare_ms = timed(bare, repeat)
        entries_ms = timed(entries, repeat)
        queries = _view_queries(page)
        results[size] = (median(page_ms), median(bare_ms), queries)
        print(f"caseload, {size} patients: page median {median(page_ms):.1f} ms "
              f"(p95 {percentile(page_ms, 0.95):.1f}), baseline {median(bare_ms):.1f} ms, "
              f"the read model's own SQL {median(entries_ms):.1f} ms; "
              f"{shown.counts['patients']} patients with something, {len(shown.groups)} shown, "
              f"{queries} queries", flush=True)
        # For the record, not a target: the page next to the SQL of its read model alone.
        figure("caseload_over_read_model_sql", patients=size, value_ms=median(page_ms),
               baseline_ms=median(entries_ms), ratio=median(page_ms) / median(entries_ms))
    for size in (2000, 10000):
        if size in results:
            value, base, _ = results[size]
            figure("caseload", patients=size, value_ms=value, baseline_ms=base,
                   ratio=value / base, target=2.0)
    if 2000 in results and 10000 in results:
        figure("caseload_scaling", patients=10000, value_ms=results[10000][0],
               baseline_ms=results[2000][0], ratio=results[10000][0] / results[2000][0],
               target=1.5)
    if 5 in results and 10000 in results:
        figure("caseload_queries", patients=10000, queries=results[10000][2],
               queries_at_5=results[5][2], met=results[10000][2] == results[5][2])


def bench_patient_page(repeat: int) -> None:
    from django.db import connection

    from bench import _baselines
    from bench._seed import seed
    from patients.models import Patient

    centre, navigator = seed(2000)
    client = _client(navigator)
    patient = Patient.objects.filter(centre=centre).order_by("pk").first()
    url = f"/patients/{patient.external_id}/"

    def page():
        response = client.get(url)
        assert response.status_code == 200
        return response

    def bare():
        with connection.cursor() as cursor:
            return _baselines.patient_page(cursor, patient_id=patient.pk, actor_id=navigator.pk)

    context = _context(page)
    ids = bare()
    assert ids["labs"] == [lab.pk for lab in context["lab_results"]]
    assert ids["cycles"] == [cycle.pk for cycle in context["cycles"]]
    page_ms = timed(page, repeat)
    bare_ms = timed(bare, repeat)
    queries = _view_queries(page)
    size = len(page().content)
    print(f"patient page: median {median(page_ms):.1f} ms (p95 {percentile(page_ms, 0.95):.1f}), "
          f"baseline {median(bare_ms):.1f} ms, {size / 1024:.0f} KiB, {queries} queries",
          flush=True)
    figure("patient_page", patients=2000, value_ms=median(page_ms),
           baseline_ms=median(bare_ms), ratio=median(page_ms) / median(bare_ms), target=3.0)
    figure("patient_page_queries", patients=2000, queries=queries, target=10,
           met=queries <= 10)
    # What every signed-in request costs before any page (the middleware: session, sign-in
    # limits, second factor, security headers): the session clock's JSON, no template.
    from django.urls import reverse

    status_url = reverse("session-status")
    floor = timed(lambda: client.get(status_url), repeat)
    figure("signed_in_request_floor", value_ms=median(floor))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sizes", default="5,2000,10000",
                        help="caseload sizes (active patients), comma-separated")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from bench._seed import seed

    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    for size in sorted(set(sizes) | {2000}):
        seed(size)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics after the bulk load
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {args.repeat} requests each",
          flush=True)
    bench_caseload(sizes, args.repeat)
    bench_patient_page(args.repeat)


if __name__ == "__main__":
    main()

"""Benchmark: the reminder sweep and end-to-end dispatch, next to plain Celery throughput.

Seeds N scheduled reminders (default 100,000; 1,000,000 supported) of which 10,000 are due, in a
PostgreSQL database of its own, then measures in one run:

1. the sweep alone: claiming every due reminder (lease + attempt, batch by batch, committed);
2. end to end: the sweep claiming them and enqueueing one send task each through Redis, and a
   real worker rendering the email trio and marking each sent, until all 10,000 are sent;
3. plain Celery: 10,000 no-op tasks through the same Redis and the same worker;

and prints the figures and the ratio of (2) to (3). The worker listens on a queue of its own, so
a shared Redis database is safe. Run: `python -m bench.reminders [--n 1000000] [--due 10000]
[--concurrency 4]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench._setup import bench_django, figure

BENCH_DB = "netcare_bench_reminders"
QUEUE = "netcare-bench-reminders"
ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> str:
    if not os.environ.get("REDIS_URL"):
        sys.exit("The benchmark measures dispatch through Redis: set REDIS_URL.")
    return bench_django(BENCH_DB, EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")


def seed_course():
    """One centre, navigator and approved course with its plan: the task the reminders are for."""
    from coordinators.models import CareTask, TaskKind
    from coordinators.plan import plan_sync
    from netcare.models import Centre, Role, User
    from tests.prrt.builders import approved_course

    task = CareTask.objects.filter(kind=TaskKind.INFUSION, cycle=4,
                                   course__patient__mrn__startswith="BENCH").first()
    if task is not None:
        return task
    suffix = uuid.uuid4().hex[:6]
    centre = Centre.objects.create(name=f"Bench NET Centre {suffix}", kind="specialist_centre",
                                   time_zone="Europe/London")
    practice = Centre.objects.create(name=f"Bench Practice {suffix}",
                                     kind="referring_practice", time_zone="Europe/London")
    specialist = User.objects.create(username=f"bench-spec-{suffix}", role=Role.SPECIALIST,
                                     centre=centre, email="spec@bench.example")
    oncologist = User.objects.create(username=f"bench-onc-{suffix}",
                                     role=Role.REFERRING_ONCOLOGIST, centre=practice,
                                     email="onc@bench.example")
    User.objects.create(username=f"bench-nav-{suffix}", role=Role.NAVIGATOR, centre=centre,
                        email="nav@bench.example")
    from patients.models import Patient

    Patient.objects.filter(mrn__startswith="BENCH").delete()
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=dt.date.today() + dt.timedelta(days=30))
    Patient.objects.filter(pk=course.patient_id).update(mrn=f"BENCH{suffix}")
    plan_sync(course=course)
    return CareTask.objects.get(course=course, kind=TaskKind.INFUSION, cycle=4)


def seed_reminders(task, n: int, due: int) -> float:
    """Replace every reminder with n new ones (due of them due now), with COPY."""
    from django.db import connection
    from django.utils import timezone

    from netcare.models import User

    user = User.objects.filter(role="navigator", centre_id=task.course.centre_id).first()
    started = time.perf_counter()
    now = timezone.now()
    rng = random.Random(19)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE coordinators_reminder")
        buffer = io.StringIO()
        for i in range(n):
            if i < due:
                send_at = now - dt.timedelta(seconds=rng.randint(1, 3600))
            else:
                send_at = now + dt.timedelta(minutes=rng.randint(10, 180 * 24 * 60))
            buffer.write(f"bench:{i}\ttask_due\temail\t{user.pk}\t{task.pk}\t{task.course_id}"
                         f"\t{{}}\t{send_at.isoformat()}\tpending\t0\t\t{now.isoformat()}\n")
        buffer.seek(0)
        cursor.copy_expert(
            "COPY coordinators_reminder (key, kind, channel, recipient_user_id, task_id, "
            "course_id, payload, send_at, state, attempts, last_error, created_at) FROM STDIN",
            buffer)
        cursor.execute("ANALYZE coordinators_reminder")
    return time.perf_counter() - started


def reset_due() -> None:
    from coordinators.models import Reminder

    Reminder.objects.filter(key__startswith="bench:").exclude(attempts=0).update(
        claimed_until=None, attempts=0, state="pending", sent_at=None)


def bench_enqueue(ids) -> None:
    """The claimed reminders to the send tasks exactly as the product enqueues them (in
    batches, over one broker connection), on the benchmark's own queue."""
    from coordinators import delivery

    delivery.enqueue_sends(ids, queue=QUEUE)


def start_worker(concurrency: int, db_url: str) -> subprocess.Popen:
    from netcare.celery import app

    env = dict(os.environ, DATABASE_URL=db_url, DATABASE_CONN_MAX_AGE="600")
    hostname = f"netcare-bench-{uuid.uuid4().hex[:6]}@localhost"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "netcare", "worker", "--pool=prefork",
         f"--concurrency={concurrency}", "--loglevel=WARNING", f"--hostname={hostname}",
         "-Q", QUEUE, "--without-mingle", "--without-gossip", "--without-heartbeat"],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[hostname], timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit("The benchmark worker did not start.")
    return proc


def queue_drained() -> bool:
    """Nothing waiting in the bench queue and nothing delivered but unacknowledged."""
    from netcare.celery import app

    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        return client.llen(QUEUE) == 0 and client.hlen("unacked") == 0


def wait(condition, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit("The benchmark timed out.")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="scheduled reminders")
    parser.add_argument("--due", type=int, default=10_000, help="of which due now")
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes")
    args = parser.parse_args()
    if not 0 < args.due <= args.n:
        sys.exit("--due must be between 1 and --n")
    db_url = setup_django()
    from coordinators import delivery
    from coordinators.models import Reminder
    from netcare import tasks as core_tasks
    from netcare.celery import app

    task = seed_course()
    seeded = seed_reminders(task, args.n, args.due)
    print(f"seeded {args.n:,} reminders ({args.due:,} due) in {seeded:.1f} s")

    started = time.perf_counter()
    result = delivery.reminders_sweep(enqueue=lambda ids: None)
    sweep_s = time.perf_counter() - started
    claimed = len(result.claimed)
    print(f"sweep alone: claimed {claimed:,} due of {args.n:,} in {sweep_s:.2f} s "
          f"({claimed / sweep_s:,.0f} claims/s); a sweep with nothing due: ", end="")
    started = time.perf_counter()
    delivery.reminders_sweep(enqueue=lambda ids: None)
    print(f"{(time.perf_counter() - started) * 1000:.1f} ms")
    reset_due()

    worker = start_worker(args.concurrency, db_url)
    try:
        with app.producer_or_acquire() as producer:  # warm the pool and the connections
            for _ in range(args.concurrency * 4):
                core_tasks.echo.apply_async(kwargs={"value": "warm"}, producer=producer,
                                            queue=QUEUE, ignore_result=True)
        wait(queue_drained)

        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for _ in range(args.due):
                core_tasks.echo.apply_async(kwargs={"value": ""}, producer=producer,
                                            queue=QUEUE, ignore_result=True)
        wait(queue_drained)
        noop_s = time.perf_counter() - started

        # The pending, due rows, through the partial index the sweep uses.
        due_ids = Reminder.objects.filter(state="pending", send_at__lte=time_now())
        started = time.perf_counter()
        delivery.reminders_sweep(enqueue=bench_enqueue)
        sweep_enqueue_s = time.perf_counter() - started
        wait(lambda: not due_ids.exists())
        e2e_s = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    sent = Reminder.objects.filter(key__startswith="bench:", state="sent").count()
    print(f"end to end: {sent:,} reminders swept, enqueued, sent and marked in {e2e_s:.2f} s "
          f"({sent / e2e_s:,.0f}/s; the sweep and enqueue took {sweep_enqueue_s:.2f} s)")
    print(f"plain Celery: {args.due:,} no-op tasks in {noop_s:.2f} s "
          f"({args.due / noop_s:,.0f}/s), same Redis, same worker "
          f"(--concurrency={args.concurrency})")
    print(f"ratio: reminder dispatch runs at {noop_s / e2e_s:.2f}x the no-op throughput "
          f"({e2e_s / noop_s:.1f}x the time)")
    figure("reminders_sweep", reminders=args.n, due=args.due, claimed=claimed,
           value_ms=sweep_s * 1000, claims_per_s=claimed / sweep_s)
    # The target (issue #14): dispatch at 0.6x plain Celery no-op throughput or more.
    throughput = noop_s / e2e_s
    figure("reminders_dispatch", reminders=args.n, due=args.due, sent=sent,
           value_ms=e2e_s * 1000, baseline_ms=noop_s * 1000, ratio=e2e_s / noop_s,
           sent_per_s=sent / e2e_s, noop_per_s=args.due / noop_s,
           throughput_ratio=throughput, target=0.6, met=throughput >= 0.6)


def time_now():
    from django.utils import timezone

    return timezone.now()


if __name__ == "__main__":
    main()

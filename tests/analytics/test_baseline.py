"""The analytics benchmark's baseline is fair: its plain SQL (bench/analytics.py) computes the
numbers the dashboard shows, figure by figure, row by row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from bench.analytics import baseline, page_numbers, same
from coordinators.models import OwnerParty, TaskKind
from network.models import EConsult
from tests.analytics.conftest import TODAY
from tests.analytics.history import at, days
from tests.analytics.test_figures import MARCH
from tests.analytics.test_pages import DASHBOARD, PERIOD, _full_course

pytestmark = pytest.mark.django_db


def test_the_baseline_computes_what_the_page_shows(client, history, elsewhere, centre,
                                                   navigator, oncologist, oncologist2):
    for i in range(12):
        _full_course(history, oncologist if i % 3 else oncologist2, i)
    # What the full courses leave out: discontinuations, LAR outside its window, a skipped and
    # a user-owned overdue task, a late cancellation, e-consults; another centre's course.
    ended = history.course(oncologist, state="discontinued")
    two = history.cycle(ended, 2, due=MARCH)
    history.decide(two, "discontinue", at(MARCH), categories=["renal"])
    history.course_event(ended, "discontinue", "active", "discontinued", at(MARCH))
    reaction = history.course(oncologist, state="discontinued")
    history.course_event(reaction, "discontinue_for_hypersensitivity", "active",
                         "discontinued", at(MARCH + days(3)))
    for hours in (2, 30):
        history.give(history.cycle(history.course(oncologist), 1, due=MARCH), at(MARCH),
                     lar_after=dt.timedelta(hours=hours))
    history.task(ended, TaskKind.IMAGING, due=MARCH, state="skipped",
                 skipped_at=at(MARCH + days(6)))
    history.task(ended, TaskKind.PRE_DOSE_LABS, due=MARCH, owner_party=OwnerParty.USER,
                 owner_user=navigator)
    history.order(two, "cancelled", at(MARCH), charge="400", late=True, currency="EUR")
    for hours in (3, 5, None):
        EConsult.objects.create(
            centre=centre, asked_by=oncologist, question="Candidate?",
            primary_site="small_bowel", state="answered" if hours else "asked",
            asked_at=at(MARCH, 9), answered_at=at(MARCH, 9 + hours) if hours else None,
            answer="Yes." if hours else "", response_hours=hours)
    _full_course(elsewhere, oncologist, 0)

    client.force_login(navigator)
    page = page_numbers(client.get(DASHBOARD, PERIOD).context)
    with connection.cursor() as cursor:
        bare = baseline(cursor, centre_id=centre.pk, first=dt.date(2025, 1, 1),
                        last=dt.date(2025, 6, 1), tz=centre.time_zone, today=TODAY)
    assert same(page, bare) == []
    # Every figure has numbers to compare, and the comparison sees a difference.
    assert all(page[slug] for slug in page), page
    bare["cycle-slippage"]["2"]["late"] += 1
    assert same(page, bare) == [
        f"cycle-slippage 2: page {page['cycle-slippage']['2']} baseline "
        f"{bare['cycle-slippage']['2']}"]

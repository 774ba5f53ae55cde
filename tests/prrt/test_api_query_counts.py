"""The PRRT list endpoints run a fixed number of queries, whether they list 3 courses or 30."""

from __future__ import annotations

import datetime as dt

import pytest

from prrt import services
from prrt.models import Administration, Cycle, CycleDecision, CycleState
from referrals.models import ReferralState
from tests.apiclient import API, client_for, results
from tests.factories import PatientFactory, ReferralFactory
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db

FIRST = dt.date(2025, 1, 6)


def assert_list(client, url: str, *, rows: int, queries: int, **params) -> None:
    """The list at `url` shows `rows` rows in exactly `queries` queries."""
    with assert_queries(queries):
        response = client.get(url, params)
        assert response.status_code == 200
        assert len(results(response)) == rows


def add_courses(centre, oncologist, specialist, count: int) -> None:
    """Courses in every state a list shows: decided, with a cycle given and one ready."""
    for _ in range(count):
        patient = PatientFactory(centre=centre, referring_oncologist=oncologist)
        referral = ReferralFactory(patient=patient, state=ReferralState.CONSULT_BOOKED)
        course = services.course_open(actor=specialist, referral=referral,
                                      planned_first_dose=FIRST)
        type(course).objects.filter(pk=course.pk).update(
            state="active", eligibility_decided_by=specialist, labs_drawn_by="centre")
        first, second = course.cycles.order_by("number")[:2]
        Cycle.objects.filter(pk=first.pk).update(state=CycleState.ADMINISTERED)
        Cycle.objects.filter(pk=second.pk).update(state=CycleState.READY)
        Administration.objects.create(
            cycle=first, administered_at=dt.datetime(2025, 1, 6, 10, tzinfo=dt.UTC),
            activity_gbq="7.4", no_short_acting_ssa_24h=True, recorded_by=specialist)


# Top-level lists: 1) COUNT for the page, 2) the page, its references joined in, 3) the
# audit row of the list and 4) the patients it names (read off the joined rows).
@pytest.mark.parametrize("persona", ["specialist", "navigator", "oncologist"])
@pytest.mark.parametrize(("path", "params", "per_course"), [
    ("courses/", {}, 1), ("cycles/", {"state": "ready"}, 1), ("cycles/", {}, 4),
])
def test_top_level_lists(request, centre, oncologist, specialist, persona, path, params,
                         per_course):
    client = client_for(request.getfixturevalue(persona))
    add_courses(centre, oncologist, specialist, 3)
    assert_list(client, f"{API}/{path}", rows=3 * per_course, queries=4, **params)
    add_courses(centre, oncologist, specialist, 27)
    assert_list(client, f"{API}/{path}", rows=min(30 * per_course, 50), queries=4, **params)


# The decisions of a cycle: 1) the cycle, through access, 2) the audit row of the read,
# 3) COUNT, 4) the page with who decided joined in.
def test_cycle_decisions(centre, oncologist, specialist, navigator):
    add_courses(centre, oncologist, specialist, 1)
    cycle = Cycle.objects.get(state=CycleState.READY)
    deciders = [specialist, navigator]

    def add(start, stop):
        CycleDecision.objects.bulk_create(
            CycleDecision(cycle=cycle, decision="withhold", categories=["thrombocytopenia"],
                          recommended_action="WITHHOLD", recommendation={}, labs_snapshot={},
                          follows_recommendation=True, decided_by=deciders[i % 2])
            for i in range(start, stop))

    url = f"{API}/cycles/{cycle.external_id}/decisions/"
    client = client_for(oncologist)
    add(0, 3)
    assert_list(client, url, rows=3, queries=4)
    add(3, 30)
    assert_list(client, url, rows=30, queries=4)

"""The API lists' pages: ``count`` read cheaply (exact up to a bound past the page, then that
bound, with ``next`` still leading to the end), the same two queries as before, and an empty page
past the end, however far. On the patients list."""

from __future__ import annotations

import pytest

from netcare.api import NetcarePagination
from tests.apiclient import API, client_for
from tests.factories import PatientFactory
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db
URL = f"{API}/patients/"


@pytest.fixture
def patients(centre, oncologist):
    return [PatientFactory(centre=centre, referring_oncologist=oncologist) for _ in range(12)]


def test_a_short_list_is_counted_exactly_and_audited_in_four_queries(navigator, patients):
    client = client_for(navigator)
    client.get(URL)  # the session and the user, once
    with assert_queries(4):  # the count, the page, the audit row, the patients it names
        body = client.get(URL, {"limit": 5, "offset": 5}).json()
    assert body["count"] == 12 and len(body["results"]) == 5
    assert "offset=10" in body["next"] and body["previous"]


def test_a_long_list_is_counted_up_to_a_bound_and_next_leads_to_the_end(
        navigator, patients, monkeypatch):
    monkeypatch.setattr(NetcarePagination, "COUNT_AHEAD", 2)
    client = client_for(navigator)
    body = client.get(URL, {"limit": 3}).json()
    assert body["count"] == 5  # 3 + 2: there are at least that many
    seen, url = [row["id"] for row in body["results"]], body["next"]
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 12
    assert body["count"] == 12  # near the end, exact


def test_an_offset_past_the_end_is_an_empty_page(navigator, patients):
    client = client_for(navigator)
    for offset in ("12", "99999999999999999999"):
        body = client.get(URL, {"offset": offset}).json()
        assert body["results"] == [] and body["count"] == 12 and body["next"] is None

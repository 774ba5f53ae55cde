"""The dashboard, its CSVs and the drill-down: who sees which figures, the period and practice
filters, small-count suppression, the audit rows, bad input, and queries that stay constant as
the centre grows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from netcare.models import AuditEvent, AuditEventPatient, Role
from tests.analytics.history import at, days
from tests.analytics.pages import csv_of, rows_of, tables
from tests.analytics.test_figures import MARCH, TOTALS, first_dose_course
from tests.factories import UserFactory
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db

PERIOD = {"from_month": "2025-01", "to_month": "2025-06"}
DASHBOARD = reverse("analytics:dashboard")
FIRST_DOSE = "referral-to-first-dose"


def march(history, oncologist, totals=TOTALS):
    return [first_dose_course(history, oncologist, at(MARCH + days(i)), total)
            for i, total in enumerate(totals)]


def page(client, user, **query):
    client.force_login(user)
    return client.get(DASHBOARD, {**PERIOD, **query})


def drill(slug: str, row: str, column: str = "n", **query) -> tuple[str, dict]:
    return reverse("analytics:patients", args=[slug]), {**PERIOD, **query, "row": row,
                                                       "column": column}


def test_the_navigator_sees_every_figure_of_the_centre(client, history, elsewhere, navigator,
                                                       oncologist):
    march(history, oncologist)
    march(elsewhere, oncologist, [400] * 3)  # another centre: never here
    response = page(client, navigator)
    assert response.status_code == 200
    html = response.content.decode()
    assert set(tables(html)) == {
        "referral-to-first-dose", "cycle-slippage", "dose-modifications", "lar-timing",
        "maintenance-injections", "overdue-tasks", "referral-back", "order-losses",
        "econsult-response"}
    total = rows_of(html, FIRST_DOSE, dims=2)["Mar 2025 · Referral to first dose"]
    assert total == ["10", "42", "35", "50"]
    assert rows_of(html, "cycle-slippage")["Cycle 1"][0] == "10"
    # A chart for each figure with rows: no overdue task and no dose order in this history.
    assert html.count('role="img"') == 7
    # Aggregates only: no patient is named, so no list read is audited.
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LIST).exists()


def test_the_period_filter(client, history, navigator, oncologist):
    march(history, oncologist)
    first_dose_course(history, oncologist, at(dt.date(2025, 1, 6)), 33)
    html = page(client, navigator, from_month="2025-02", to_month="2025-03").content.decode()
    rows = rows_of(html, FIRST_DOSE, dims=2)
    # February had no first dose: its one row is the whole interval's, empty.
    assert list(rows) == ["Feb 2025 · Referral to first dose"] + [f"Mar 2025 · {step}" for step in (
        "Referral to review decision", "Review decision to consult", "Consult to first dose",
        "Referral to first dose")]
    assert rows["Feb 2025 · Referral to first dose"] == ["0", "—", "—", "—"]
    assert rows["Mar 2025 · Referral to first dose"][0] == "10"
    html = page(client, navigator, from_month="2025-01", to_month="2025-01").content.decode()
    assert rows_of(html, FIRST_DOSE, dims=2)["Jan 2025 · Referral to first dose"] == [
        "1", "33", "33", "33"]


def test_a_practice_filter_counts_its_patients_and_suppresses_small_counts(
        client, history, navigator, oncologist, oncologist2):
    march(history, oncologist)  # Hillview: ten
    march(history, oncologist2, [20, 21, 22])  # Lakeside: three
    client.force_login(navigator)
    html = client.get(DASHBOARD, PERIOD).content.decode()
    assert 'value="' + str(oncologist.centre.external_id) + '"' in html  # a practice to choose
    assert rows_of(html, FIRST_DOSE, dims=2)["Mar 2025 · Referral to first dose"][0] == "13"

    html = page(client, navigator, practice=oncologist.centre.external_id).content.decode()
    assert rows_of(html, FIRST_DOSE, dims=2)["Mar 2025 · Referral to first dose"] == [
        "10", "42", "35", "50"]
    html = page(client, navigator, practice=oncologist2.centre.external_id).content.decode()
    assert rows_of(html, FIRST_DOSE, dims=2)["Mar 2025 · Referral to first dose"] == [
        "<5", "not shown", "not shown", "not shown"]
    # The cycles given, the LAR window: small counts and a total that would give them away.
    assert rows_of(html, "cycle-slippage")["Cycle 1"][:2] == ["<5", "not shown"]
    assert rows_of(html, "lar-timing")["Mar 2025"] == ["<5", "<5", "0", "0", "0"]
    assert "Small counts are suppressed" in html


def test_a_total_with_a_small_part_is_not_shown(client, history, navigator, oncologist):
    for i in range(6):  # six infusions, one with its LAR too early
        first_dose_course(history, oncologist, at(MARCH + days(i)), 30)
    history.give(history.cycle(history.course(oncologist), 1, due=MARCH), at(MARCH),
                 lar_after=dt.timedelta(hours=2))
    html = page(client, navigator, practice=oncologist.centre.external_id).content.decode()
    assert rows_of(html, "lar-timing")["Mar 2025"] == ["not shown", "6", "<5", "0", "0"]
    html = page(client, navigator).content.decode()
    assert rows_of(html, "lar-timing")["Mar 2025"] == ["7", "6", "1", "0", "0"]


def test_an_oncologist_sees_their_practice_only(client, history, elsewhere, oncologist,
                                                oncologist2, practice):
    colleague = UserFactory(role=Role.REFERRING_ONCOLOGIST, centre=practice)
    mine = march(history, oncologist, TOTALS[:3]) + march(history, colleague, TOTALS[3:5])
    march(history, oncologist2, [99] * 6)
    march(elsewhere, oncologist, [98] * 2)  # their own patients at another centre count too
    response = page(client, oncologist, practice=oncologist2.centre.external_id)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="practice"' not in html  # the practice is theirs, not a choice
    # Hillview's seven first doses in March: 28, 30, 35 (theirs), 35, 42 (a colleague's), 98, 98.
    assert rows_of(html, FIRST_DOSE, dims=2)["Mar 2025 · Referral to first dose"] == [
        "7", "35", "32.5", "70"]
    assert "99" not in rows_of(html, FIRST_DOSE, dims=2)["Mar 2025 · Referral to first dose"]

    url, query = drill(FIRST_DOSE, "2025-03:total")
    listed = client.get(url, query)
    assert listed.status_code == 200
    shown = {str(patient.external_id) for patient, _ in listed.context["cases"]}
    theirs = {str(c.patient.external_id) for c in mine[:3]}
    assert theirs <= shown and not {str(c.patient.external_id) for c in mine[3:]} & shown
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST, actor=oncologist)
    assert event.note == f"analytics:{FIRST_DOSE}"
    assert {str(p) for p in AuditEventPatient.objects.filter(event=event)
            .values_list("patient_id", flat=True)} == shown


def test_another_centre_never_sees_this_centres_figures_or_patients(
        client, history, oncologist, outside_navigator):
    march(history, oncologist)
    html = page(client, outside_navigator).content.decode()
    assert rows_of(html, FIRST_DOSE, dims=2)["Mar 2025 · Referral to first dose"][0] == "0"
    url, query = drill(FIRST_DOSE, "2025-03:total")
    response = client.get(url, query)
    assert response.status_code == 200 and response.context["cases"] == []
    assert "Family" not in response.content.decode()


def test_a_centre_administrator_sees_the_figures_without_patients(client, history, oncologist,
                                                                  administrator):
    march(history, oncologist)
    html = page(client, administrator).content.decode()
    assert rows_of(html, FIRST_DOSE, dims=2)["Mar 2025 · Referral to first dose"][0] == "10"
    assert "/patients/?" not in html
    url, query = drill(FIRST_DOSE, "2025-03:total")
    assert client.get(url, query).status_code == 403


@pytest.mark.parametrize("who", ["admin_without_centre", "anonymous", "practice_navigator"])
def test_who_gets_no_dashboard(client, db, practice, who):
    if who == "anonymous":
        response = client.get(DASHBOARD)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        return
    user = UserFactory(role=Role.ADMINISTRATOR, centre=None) if who == "admin_without_centre" \
        else UserFactory(role=Role.NAVIGATOR, centre=practice)
    client.force_login(user)
    assert client.get(DASHBOARD).status_code == 403


def test_the_csv_matches_the_table_and_is_audited(client, history, navigator, oncologist,
                                                  oncologist2, centre):
    march(history, oncologist)
    march(history, oncologist2, [20, 21])
    for query in ({}, {"practice": str(oncologist2.centre.external_id)}):
        html = page(client, navigator, **query).content.decode()
        for slug, table in tables(html).items():
            if len(table) == 2 and table[1][0] == "Nothing recorded in this period.":
                table = table[:1]
            response = client.get(reverse("analytics:csv", args=[slug]), {**PERIOD, **query})
            assert response.status_code == 200
            assert response["Content-Type"].startswith("text/csv")
            assert csv_of(response) == table, slug
    text = client.get(reverse("analytics:csv", args=[FIRST_DOSE]), PERIOD).content.decode()
    assert "Family" not in text and "SYN" not in text  # no patient in an aggregate
    exports = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, actor=navigator)
    assert exports.count() == 2 * 9 + 1
    last = exports.order_by("-id").first()
    assert last.note == f"analytics {FIRST_DOSE} 2025-01 to 2025-06"
    assert last.object_id == str(centre.external_id)
    practice_export = exports.filter(note__contains="practice").first()
    assert practice_export.object_id == str(oncologist2.centre.external_id)


def test_bad_input_names_the_field(client, navigator, now):
    client.force_login(navigator)
    csv_url = reverse("analytics:csv", args=[FIRST_DOSE])
    for query, field in (({"from_month": "2025-13"}, "from_month"),
                         ({"to_month": "2025-08"}, "to_month"),
                         ({"from_month": "2025-06", "to_month": "2025-01"}, "from_month"),
                         ({"from_month": "1899-12"}, "from_month"),
                         ({"from_month": "2020-01"}, "from_month"),
                         ({"practice": "not-a-practice"}, "practice")):
        response = client.get(csv_url, {**PERIOD, **query})
        assert response.status_code == 400, query
        assert response.content.decode().startswith(f"{field}: "), query
        response = client.get(DASHBOARD, {**PERIOD, **query})
        assert response.status_code == 400
        assert response.context["form"].errors[field]
        assert 'aria-invalid="true"' in response.content.decode()
    url, query = drill(FIRST_DOSE, "2025-03:nothing")
    response = client.get(url, query)
    assert response.status_code == 400 and b"row" in response.content
    assert client.get(reverse("analytics:csv", args=["no-such-figure"])).status_code == 404
    econsults = reverse("analytics:patients", args=["econsult-response"])
    assert client.get(econsults, {**PERIOD, "row": "2025-03", "column": "n"}).status_code == 404


def test_the_drill_down_lists_the_patients_behind_a_bar(client, history, navigator, oncologist):
    courses = march(history, oncologist)
    url, query = drill("cycle-slippage", "1")
    response = page(client, navigator)
    assert f'{url}?from_month=2025-01&amp;to_month=2025-06&amp;row=1&amp;column=n' in \
        response.content.decode()
    listed = client.get(url, query)
    assert listed.status_code == 200
    html = listed.content.decode()
    for course in courses:
        assert reverse("patients:detail", args=[course.patient.external_id]) in html
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST, actor=navigator)
    assert event.changes == {"count": 10}


def _full_course(history, oncologist, i: int) -> None:
    """A course touching every figure: referral events, two doses (the second withheld first
    and reduced), a letter, a maintenance injection, an overdue task and a wasted dose."""
    course = first_dose_course(history, oncologist, at(MARCH + days(i % 20)), 30 + i)
    two = history.cycle(course, 2, due=MARCH + days(56))
    history.decide(two, "withhold", at(MARCH + days(55)), categories=["thrombocytopenia"])
    history.decide(two, "approve", at(MARCH + days(60)), activity="3.7")
    history.give(two, at(MARCH + days(61)), activity="3.7", lar_after=None)
    history.letter(course, at(MARCH + days(90)))
    history.maintenance(course, due=dt.date(2025, 6, 10))
    history.task(course, "pre_dose_labs", due=dt.date(2025, 4, 20), state="done",
                 done_at=at(dt.date(2025, 4, 24)))
    history.order(two, "wasted", at(MARCH + days(61)), charge="2000")


def test_queries_stay_constant_as_the_centre_grows(client, history, navigator, oncologist):
    for i in range(2):
        _full_course(history, oncologist, i)
    client.force_login(navigator)

    def dashboard():
        response = client.get(DASHBOARD, PERIOD)
        assert response.status_code == 200
        return response

    def grow():
        for i in range(2, 12):
            _full_course(history, oncologist, i)

    html = assert_constant_queries(dashboard, grow=grow).content.decode()
    assert rows_of(html, "cycle-slippage")["Cycle 2"][0] == "12"
    assert rows_of(html, "order-losses", dims=2)["Wasted doses · USD"][:2] == ["12", "24,000.00"]


def test_drill_down_queries_stay_constant(client, history, navigator, oncologist):
    for i in range(2):
        _full_course(history, oncologist, i)
    client.force_login(navigator)
    url, query = drill("dose-modifications", "thrombocytopenia", "reduced")

    def listed():
        response = client.get(url, query)
        assert response.status_code == 200
        return response

    def grow():
        for i in range(2, 12):
            _full_course(history, oncologist, i)

    assert len(assert_constant_queries(listed, grow=grow).context["cases"]) == 12

"""The centre's precaution sheet: the article's Table 2 by default; saved by the centre's team
only, validated row by row, audited, and the centre's precaution window following its longest
item, so the plan's no-routine-bloods window, the check-ins and cycle completion move with it;
a sheet that does not fit the cycle interval is refused. The page that edits it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

import rules
from coordinators.models import CareTask, TaskKind, TaskState
from coordinators.plan import plan_sync
from netcare.models import AuditEvent, Centre
from netcare.workflow import TransitionForbidden
from prrt import services
from prrt.models import CycleState, PrecautionItem, TreatmentCourse
from prrt.precautions import (
    TABLE_2,
    PrecautionSheetInvalid,
    SheetItem,
    precaution_sheet,
    precaution_sheet_save,
    sheet_groups,
    sheet_validate,
)
from prrt.schedule import course_plan_events
from tests.prrt.builders import approved_course, enter_labs, give

pytestmark = pytest.mark.django_db
D = dt.date
C1 = D(2025, 1, 6)
NEAR_CHILDREN = "Limit contact with small children and pregnant women."
TWO_DURATIONS = [{"text": "Sleep in a separate bed.", "days": 3, "audience": ""},
                 {"text": NEAR_CHILDREN, "days": 7, "audience": "children and pregnant women"},
                 {"text": "Flush the toilet twice after each use.", "days": "3"}]


def sheet_rows(centre) -> list[tuple[str, int, str]]:
    return [(i.text, i.days, i.audience) for i in precaution_sheet(centre)]


def sheet_audits(centre):
    return AuditEvent.objects.filter(object_type="netcare.Centre",
                                     object_id=str(centre.external_id),
                                     action=AuditEvent.Action.UPDATE).order_by("pk")


# --- the default sheet and the dates (pure) ----------------------------------------------------


def test_without_a_sheet_the_centre_gives_table_2_for_its_window(centre):
    assert sheet_rows(centre) == [(text, 7, "") for text in TABLE_2]
    centre.rules_settings = {"precaution_days": 3}
    centre.save()
    assert {item.days for item in precaution_sheet(centre)} == {3}
    assert len(precaution_sheet(centre)) == 12


def test_each_item_ends_its_own_days_after_the_infusion_day():
    items = [SheetItem("a", 3), SheetItem("b", 7, "children and pregnant women"),
             SheetItem("c", 3), SheetItem("d", 7), SheetItem("e", 1)]
    groups = sheet_groups(items, C1)  # day 0 = Monday 6 January 2025
    assert [(g.days, g.until, g.audience, [i.text for i in g.items]) for g in groups] == [
        (1, D(2025, 1, 7), "", ["e"]),
        (3, D(2025, 1, 9), "", ["a", "c"]),
        (7, D(2025, 1, 13), "", ["d"]),
        (7, D(2025, 1, 13), "children and pregnant women", ["b"]),
    ]


@pytest.mark.parametrize(("days", "ok"), [(0, False), (1, True), (60, True), (61, False),
                                          ("7", True), ("7.5", False), ("", False),
                                          (None, False), (True, False), (-3, False)])
def test_days_are_a_whole_number_from_1_to_60(days, ok):
    item = {"text": "Shower every day.", "days": days}
    if ok:
        assert sheet_validate([item]) == [SheetItem("Shower every day.", int(days))]
    else:
        with pytest.raises(PrecautionSheetInvalid) as refused:
            sheet_validate([item])
        assert [(e.row, e.field) for e in refused.value.errors] == [(0, "days")]


def test_every_bad_row_and_field_is_named():
    with pytest.raises(PrecautionSheetInvalid) as refused:
        sheet_validate([{"text": "Fine.", "days": 3}, {"text": "  ", "days": 3},
                        {"text": "Too long?", "days": 0, "audience": "x" * 121}])
    assert [(e.row, e.field) for e in refused.value.errors] == [
        (1, "text"), (2, "days"), (2, "audience")]
    assert refused.value.field == "items[1].text"
    assert "Row 2: write the precaution." in refused.value.message
    with pytest.raises(PrecautionSheetInvalid) as too_many:
        sheet_validate([{"text": f"Item {n}.", "days": 3} for n in range(41)])
    assert too_many.value.errors[0].row is None


# --- saving -------------------------------------------------------------------------------------


def test_the_team_saves_a_sheet_that_replaces_the_last_and_is_audited(centre, navigator,
                                                                      specialist):
    saved = precaution_sheet_save(actor=navigator, centre=centre, items=TWO_DURATIONS)
    assert saved.changed and saved.precaution_days == 7
    assert sheet_rows(centre) == [
        ("Sleep in a separate bed.", 3, ""),
        (NEAR_CHILDREN, 7, "children and pregnant women"),
        ("Flush the toilet twice after each use.", 3, "")]
    centre.refresh_from_db()
    assert centre.rules_settings == {"precaution_days": 7}
    [row] = sheet_audits(centre)
    assert row.actor == navigator and not row.by_system
    before, after = row.changes["precaution_sheet"]
    assert before == [] and [item["days"] for item in after] == [3, 7, 3]

    precaution_sheet_save(actor=specialist, centre=centre,
                          items=[{"text": "Shower every day.", "days": 2}])
    assert sheet_rows(centre) == [("Shower every day.", 2, "")]
    assert PrecautionItem.objects.filter(centre=centre).count() == 1
    centre.refresh_from_db()
    assert centre.rules_settings == {"precaution_days": 2}
    last = sheet_audits(centre).last()
    assert last.actor == specialist
    assert last.changes["precaution_days"] == [7, 2]
    assert [i["text"] for i in last.changes["precaution_sheet"][0]] == [
        "Sleep in a separate bed.", NEAR_CHILDREN, "Flush the toilet twice after each use."]

    again = precaution_sheet_save(actor=specialist, centre=centre,
                                  items=[{"text": " Shower  every day. ", "days": "2"}])
    assert not again.changed
    assert sheet_audits(centre).count() == 2  # nothing changed, nothing written


def test_going_back_to_table_2_keeps_the_window(centre, navigator):
    precaution_sheet_save(actor=navigator, centre=centre, items=TWO_DURATIONS)
    saved = precaution_sheet_save(actor=navigator, centre=centre, items=[])
    assert saved.changed and saved.precaution_days == 7
    assert sheet_rows(centre) == [(text, 7, "") for text in TABLE_2]
    assert sheet_audits(centre).last().changes["precaution_sheet"][1] == []


@pytest.mark.parametrize("who", ["oncologist", "outside_navigator", "outside_specialist",
                                 "administrator", None])
def test_only_the_centres_specialists_and_navigators_keep_the_sheet(request, centre, who):
    actor = request.getfixturevalue(who) if who else None
    with pytest.raises(TransitionForbidden):
        precaution_sheet_save(actor=actor, centre=centre, items=TWO_DURATIONS)
    assert not PrecautionItem.objects.filter(centre=centre).exists()
    assert not sheet_audits(centre).exists()


@pytest.mark.parametrize(("longest", "why"), [
    (34, None),
    (35, "post-course labs must fall after the precaution window"),
    (42, "precaution window and pre-dose labs must fit inside a cycle interval"),
    (60, "precaution window and pre-dose labs must fit inside a cycle interval")])
def test_a_sheet_that_does_not_fit_the_plan_is_refused(centre, navigator, longest, why):
    # The post-course labs (35 days after the last dose) come after the window; the window and
    # the next cycle's pre-dose labs (due 7 days before it) fit in the 49 days before it.
    items = [{"text": "Shower every day.", "days": 3},
             {"text": NEAR_CHILDREN, "days": longest, "audience": "children"}]
    if why is None:
        assert precaution_sheet_save(actor=navigator, centre=centre,
                                     items=items).precaution_days == longest
        return
    with pytest.raises(PrecautionSheetInvalid) as refused:
        precaution_sheet_save(actor=navigator, centre=centre, items=items)
    [error] = refused.value.errors
    assert (error.row, error.field) == (1, "days")
    assert why in error.message and "at most 34 days" in error.message
    centre.refresh_from_db()
    assert centre.rules_settings == {}
    assert not PrecautionItem.objects.filter(centre=centre).exists()


# --- the plan follows ---------------------------------------------------------------------------


@pytest.fixture
def given_c1(time_machine, centre, oncologist, specialist, navigator):
    """Cycle 1 given on Monday 6 January 2025; today is Friday 10 January."""
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC), tick=False)
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=C1)
    enter_labs(specialist, course.patient, C1 - dt.timedelta(days=2))
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=1),
                                   today=C1 - dt.timedelta(days=2))
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=C1 - dt.timedelta(days=1))
    time_machine.move_to(dt.datetime(2025, 1, 6, 17, 0, tzinfo=dt.UTC), tick=False)
    give(navigator, course.cycles.get(number=1), C1)
    time_machine.move_to(dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC), tick=False)
    plan_sync(course=course)
    return course


def no_bloods(course, cycle: int) -> tuple[dt.date, dt.date]:
    course = TreatmentCourse.objects.select_related("centre").get(pk=course.pk)  # as saved
    [event] = [e for e in course_plan_events(course)
               if e.kind == rules.EventKind.NO_ROUTINE_BLOODS and e.cycle == cycle]
    return event.earliest, event.latest


def checkin(course, cycle: int) -> CareTask:
    return CareTask.objects.get(course=course, kind=TaskKind.RADIATION_SAFETY_CHECKIN,
                                cycle=cycle)


def test_the_plans_window_follows_the_longest_item(given_c1, centre, navigator,
                                                   django_capture_on_commit_callbacks):
    course = given_c1
    assert no_bloods(course, 1) == (C1, D(2025, 1, 13))
    task = checkin(course, 1)
    assert (task.earliest, task.due, task.latest) == (D(2025, 1, 7), D(2025, 1, 8),
                                                      D(2025, 1, 13))
    assert no_bloods(course, 2)[1] - no_bloods(course, 2)[0] == dt.timedelta(days=7)

    # A sheet of 3 days for adults and 4 near children: the window is 4 days, to today.
    items = [{"text": "Sleep in a separate bed.", "days": 3},
             {"text": NEAR_CHILDREN, "days": 4, "audience": "children and pregnant women"}]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        precaution_sheet_save(actor=navigator, centre=centre, items=items)
    assert callbacks  # the plan re-syncs on commit, from the event
    assert no_bloods(course, 1) == (C1, D(2025, 1, 10))
    task = checkin(course, 1)
    assert (task.earliest, task.due, task.latest) == (D(2025, 1, 7), D(2025, 1, 8),
                                                      D(2025, 1, 10))
    c2_start, c2_end = no_bloods(course, 2)
    assert c2_end - c2_start == dt.timedelta(days=4)
    assert course.cycles.get(number=1).state == CycleState.ADMINISTERED  # day 4 is today

    # 3 days: the window ended on Thursday 9 January, so cycle 1 completes (by NETcare).
    with django_capture_on_commit_callbacks(execute=True):
        precaution_sheet_save(actor=navigator, centre=centre, items=[items[0]])
    assert no_bloods(course, 1) == (C1, D(2025, 1, 9))
    task = checkin(course, 1)
    assert (task.due, task.latest, task.state) == (D(2025, 1, 8), D(2025, 1, 9), TaskState.OPEN)
    cycle = course.cycles.get(number=1)
    assert cycle.state == CycleState.COMPLETED
    completed = AuditEvent.objects.filter(object_id=str(cycle.external_id),
                                          action=AuditEvent.Action.TRANSITION).order_by(
                                              "pk").last()
    assert completed.by_system and completed.changes["state"][1] == CycleState.COMPLETED


def test_wording_alone_does_not_replan(given_c1, centre, navigator,
                                       django_capture_on_commit_callbacks):
    items = [{"text": "Sleep in a separate bed.", "days": 7}]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        precaution_sheet_save(actor=navigator, centre=centre, items=items)
    assert callbacks == []  # the window stays 7 days: no event
    centre.refresh_from_db()
    assert centre.rules_settings == {"precaution_days": 7}


# --- the page -----------------------------------------------------------------------------------

URL = "/prrt/precautions/"


def form_data(rows, *, initial=0, **extra):
    data = {"items-TOTAL_FORMS": str(len(rows)), "items-INITIAL_FORMS": str(initial),
            "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000", **extra}
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"items-{n}-{key}"] = value
    return data


def test_the_page_shows_table_2_by_default_and_previews_todays_dates(client, navigator,
                                                                     time_machine):
    time_machine.move_to(dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC), tick=False)
    assert reverse("prrt:precaution-sheet") == URL
    client.force_login(navigator)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "no sheet of its own" in html and "article's Table 2" in html
    assert 'id="id_items-11-text"' in html and 'id="id_items-12-text"' in html  # + a blank row
    assert "until <strong>Monday 13 January 2025</strong>" in html
    assert 'for="id_items-0-days">Days for precaution 1' in html


@pytest.mark.parametrize("who", ["oncologist", "administrator"])
def test_other_roles_are_refused(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, form_data([{"text": "x", "days": "3"}])).status_code == 403


def test_saving_from_the_page(client, specialist, centre):
    client.force_login(specialist)
    response = client.post(URL, form_data([
        {"text": "Sleep in a separate bed.", "days": "3", "audience": ""},
        {"text": "Gone.", "days": "3", "DELETE": "on"},
        {"text": NEAR_CHILDREN, "days": "7", "audience": "children and pregnant women"},
        {"text": "", "days": "", "audience": ""},  # the blank new row
    ], initial=3))
    assert response.status_code == 302
    assert sheet_rows(centre) == [("Sleep in a separate bed.", 3, ""),
                                  (NEAR_CHILDREN, 7, "children and pregnant women")]
    page = client.get(URL).content.decode()
    assert "The centre's own sheet." in page
    assert "Go back to the article" in page


def test_a_bad_row_is_marked_beside_its_field(client, navigator, centre):
    client.force_login(navigator)
    response = client.post(URL, form_data([
        {"text": "Sleep in a separate bed.", "days": "3"},
        {"text": NEAR_CHILDREN, "days": "45", "audience": "children"},
    ]))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_items-1-days_error"' in html and "at most 34 days" in html
    assert 'aria-describedby="id_items-1-days_helptext id_items-1-days_error"' in html
    assert not PrecautionItem.objects.filter(centre=centre).exists()
    response = client.post(URL, form_data([{"text": "", "days": "0"}], initial=1))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_items-0-text_error"' in html and 'id="id_items-0-days_error"' in html


def test_add_a_row_keeps_what_was_typed(client, navigator, centre):
    client.force_login(navigator)
    response = client.post(URL, form_data([{"text": "Shower every day.", "days": "2"}],
                                          initial=1, add="1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Shower every day." in html and 'id="id_items-1-text"' in html
    assert 'id="id_items-2-text"' not in html
    assert not PrecautionItem.objects.filter(centre=centre).exists()


def test_going_back_to_table_2_from_the_page(client, navigator, centre):
    precaution_sheet_save(actor=navigator, centre=centre, items=TWO_DURATIONS)
    client.force_login(navigator)
    assert client.post(URL, {"reset": "1"}).status_code == 302
    assert not PrecautionItem.objects.filter(centre=centre).exists()
    assert Centre.objects.get(pk=centre.pk).rules_settings == {"precaution_days": 7}


def test_the_demo_centre_has_a_two_duration_sheet(settings):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo")
    centre = Centre.objects.get(name="Riverside NET Centre")
    groups = sheet_groups(precaution_sheet(centre), C1)
    assert [(g.days, g.audience) for g in groups] == [(3, ""),
                                                      (7, "children and pregnant women")]
    assert [i.text for i in groups[1].items] == [NEAR_CHILDREN]
    assert centre.rules_settings["precaution_days"] == 7

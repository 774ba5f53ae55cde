"""Two specialists approve the same ready cycle at the same moment, each on their own database
connection: the row lock lets one through and the other gets a clear conflict."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from netcare.models import Role
from prrt import services
from prrt.models import CycleDecision, CycleState
from tests.apiclient import API, client_for
from tests.factories import UserFactory
from tests.prrt.builders import approved_course, enter_labs

C1 = dt.date(2025, 1, 6)
TODAY = C1 - dt.timedelta(days=2)


@pytest.mark.django_db(transaction=True)
def test_two_specialists_approving_one_cycle_at_once(time_machine, centre, oncologist,
                                                     specialist):
    time_machine.move_to(dt.datetime(2025, 1, 4, 12, 0, tzinfo=dt.UTC), tick=False)
    colleague = UserFactory(role=Role.SPECIALIST, centre=centre)
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=C1)
    enter_labs(specialist, course.patient, TODAY)
    cycle = services.cycle_refresh(cycle=course.cycles.get(number=1), today=TODAY)
    assert cycle.state == CycleState.READY
    url = f"{API}/cycles/{cycle.external_id}/approve/"
    start = threading.Barrier(2, timeout=30)
    answers: dict[str, object] = {}

    def approve(user) -> None:
        client = client_for(user)
        try:
            start.wait()
            answers[user.username] = client.post(url, {"activity_gbq": "7.4"}, format="json")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            answers[user.username] = exc
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=approve, args=(user,)) for user in (specialist,
                                                                          colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    responses = list(answers.values())
    assert all(not isinstance(r, BaseException) for r in responses), responses
    assert sorted(r.status_code for r in responses) == [200, 409]
    conflict = next(r for r in responses if r.status_code == 409).json()
    assert conflict["field"] is None and "approved now" in conflict["detail"]
    assert CycleDecision.objects.filter(cycle=cycle).count() == 1
    cycle.refresh_from_db()
    assert cycle.state == CycleState.APPROVED

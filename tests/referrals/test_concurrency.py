"""Two specialists acting on one referral at the same moment, on two real PostgreSQL
connections: exactly one transition wins, the other gets a conflict, nothing is lost."""

import threading

import pytest
from django.db import connection

from netcare.workflow import TransitionConflict
from referrals.models import Referral, ReferralEvent, ReferralState
from referrals.services import referral_transition
from tests.factories import ReferralFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_racing_transitions_one_wins_one_conflicts(patient, specialist):
    second = UserFactory(role=specialist.role, centre=specialist.centre)
    referral = ReferralFactory(patient=patient, state=ReferralState.UNDER_REVIEW)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(name, user):
        try:
            barrier.wait(timeout=10)
            referral_transition(referral=referral, name=name, actor=user, reason="Decision.")
            outcomes[name] = "ok"
        except TransitionConflict:
            outcomes[name] = "conflict"
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=("accept", specialist)),
               threading.Thread(target=act, args=("decline", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["conflict", "ok"]
    winner = next(name for name, result in outcomes.items() if result == "ok")
    final = Referral.objects.get(pk=referral.pk)
    assert final.state == {"accept": ReferralState.ACCEPTED,
                           "decline": ReferralState.DECLINED}[winner]
    assert ReferralEvent.objects.filter(referral=referral).count() == 1

"""factory_boy factories for NETcare's synthetic test data."""

from __future__ import annotations

import datetime as dt
import functools

import factory
from django.conf import settings
from django.contrib.auth.hashers import make_password

from netcare.models import Centre, Role, User
from patients.models import Patient


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Centre

    name = factory.Sequence(lambda n: f"Test NET Centre {n}")
    kind = Centre.Kind.SPECIALIST_CENTRE
    time_zone = "Europe/London"


class PracticeFactory(CentreFactory):
    name = factory.Sequence(lambda n: f"Test Oncology Practice {n}")
    kind = Centre.Kind.REFERRING_PRACTICE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@netcare.example")
    role = Role.NAVIGATOR
    centre = factory.SubFactory(CentreFactory)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        # Hashing with Argon2 is slow by design: hash the demo password once per run.
        self.password = make_password(extracted) if extracted else demo_password_hash()
        if create:
            self.save(update_fields=["password"])


@functools.cache
def demo_password_hash() -> str:
    return make_password(settings.NETCARE_DEMO_PASSWORD)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    centre = factory.SubFactory(CentreFactory)
    referring_oncologist = factory.SubFactory(
        UserFactory, role=Role.REFERRING_ONCOLOGIST, centre=factory.SubFactory(PracticeFactory)
    )
    mrn = factory.Sequence(lambda n: f"SYN{n:06d}")
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")
    date_of_birth = dt.date(1962, 5, 14)
    sex = Patient.Sex.FEMALE


class ReferralFactory(factory.django.DjangoModelFactory):
    """A referral in any state (the state is set at creation, never changed afterwards)."""

    class Meta:
        model = "referrals.Referral"

    patient = factory.SubFactory(PatientFactory)
    referring_oncologist = factory.LazyAttribute(lambda r: r.patient.referring_oncologist)
    centre = factory.LazyAttribute(lambda r: r.patient.centre)
    question = "Is this patient a candidate for PRRT?"

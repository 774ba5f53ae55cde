"""factory_boy factories for NETcare's synthetic test data."""

from __future__ import annotations

import datetime as dt

import factory
from django.conf import settings

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
        self.set_password(extracted or settings.NETCARE_DEMO_PASSWORD)
        if create:
            self.save(update_fields=["password"])


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
